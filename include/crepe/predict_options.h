// What a pitch analysis is asked to do: the hop, centring, decoder, pitch range, resampler,
// post-processing and the outputs wanted, with their validation. Plain data: every entry point
// (Predictor, PitchSession, crepe-predict, the service's codecs) shares it without pulling in the
// network.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>

#include "crepe/audio.h"
#include "crepe/decode.h"
#include "crepe/frames.h"
#include "crepe/postprocess.h"
#include "crepe/status.h"

namespace crepe {

// Applied in this order: silence gate, periodicity median, voicing threshold, pitch mean.
struct PostProcessOptions {
  std::optional<float> silence_db;  // periodicity = 0 where A-weighted loudness < this
  // The loudness reference (0 dB of the gate's scale). Unset: torchcrepe's, the clip's loudest
  // bin. Set: each frame is judged on its own, which a stream needs to send frames early.
  std::optional<double> silence_reference_db;
  int periodicity_median_window = 0;            // odd; 0 = off
  std::optional<float> threshold;               // pitch = NaN where periodicity < this
  std::optional<HysteresisOptions> hysteresis;  // torchcrepe's hysteresis instead of a hard threshold
  int pitch_mean_window = 0;                    // odd; 0 = off
};

struct PredictOptions {
  HopSpec hop = HopSpec::Milliseconds(10);
  bool center = true;
  Decoder decoder = Decoder::kWeightedArgmax;  // the original CREPE's default
  double fmin_hz = 0;
  double fmax_hz = std::numeric_limits<double>::infinity();
  ResamplerKind resampler = ResamplerKind::kKaiserBest;
  PostProcessOptions post;
  bool want_activations = false;
  bool want_embeddings = false;
  // Frames prepared and handed to the network at once: bounds memory, never changes results.
  int64_t batch_frames = 256;
};

// Checks the options that do not depend on the audio (hop, fmin/fmax, filter windows, ...).
Status ValidatePredictOptions(const PredictOptions& options);

}  // namespace crepe
