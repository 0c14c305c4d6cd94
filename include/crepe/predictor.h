// The whole pitch-estimation job for one clip: mix down, resample, frame, run the network in
// bounded batches, decode, post-process.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <vector>

#include "crepe/audio.h"
#include "crepe/decode.h"
#include "crepe/frames.h"
#include "crepe/model.h"
#include "crepe/postprocess.h"
#include "crepe/prediction.h"
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

// Called after each batch with (frames done, frames in total).
using ProgressCallback = std::function<void(int64_t, int64_t)>;

// Checks the options that do not depend on the audio (hop, fmin/fmax, filter windows, ...).
Status ValidatePredictOptions(const PredictOptions& options);

class Predictor {
 public:
  explicit Predictor(Model& model) : model_(model) {}

  // Interleaved audio at any rate and channel count.
  Result<Prediction> Predict(const AudioBuffer& audio, const PredictOptions& options,
                             const ProgressCallback& progress = nullptr);
  // A mono signal already at 16 kHz; `input_sample_rate` converts a hop given in samples.
  Result<Prediction> PredictMono16k(const std::vector<float>& audio16k, int input_sample_rate,
                                    const PredictOptions& options, const ProgressCallback& progress = nullptr);

 private:
  // The work after validation and resampling.
  Result<Prediction> Run(const std::vector<float>& audio16k, int input_sample_rate, const PredictOptions& options,
                         const ProgressCallback& progress);
  Model& model_;
};

// The pitch of a clip from activations recorded earlier for it (e.g. crepe-predict --activations):
// the same resampling and frame grid as Predict, then decoding and post-processing, with no network.
// The network's output does not depend on the decoder or post-processing options, so this equals
// Predict with the same options whenever `activations` came from the same audio, capacity, hop
// and centring. Fails unless there are exactly frames x 360 finite values in [0, 1]; embeddings
// cannot be asked for.
Result<Prediction> PredictFromActivations(const AudioBuffer& audio, const PredictOptions& options,
                                          std::vector<float> activations);

}  // namespace crepe
