// The whole pitch-estimation job for one clip: mix down, resample, frame, run the network in
// bounded batches, decode, post-process. It drives a PitchSession (the pipeline the service runs
// too) synchronously with its own model, so both give the same results by construction.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "crepe/audio.h"
#include "crepe/model.h"
#include "crepe/predict_options.h"
#include "crepe/prediction.h"
#include "crepe/status.h"

namespace crepe {

// Called after each batch with (frames done, frames in total).
using ProgressCallback = std::function<void(int64_t, int64_t)>;

class Predictor {
 public:
  explicit Predictor(Model& model) : model_(model) {}

  // Interleaved audio at any rate and channel count.
  Result<Prediction> Predict(const AudioBuffer& audio, const PredictOptions& options,
                             const ProgressCallback& progress = nullptr);

 private:
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
