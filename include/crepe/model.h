// A CREPE network of one capacity, resident on one device. Torch types stay behind this header.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "crepe/capacity.h"
#include "crepe/status.h"

namespace crepe {

struct ModelOptions {
  std::string device = "cpu";  // "cpu", "cuda" or "cuda:N"
  // TF32 on Ampere and newer GPUs costs ~1e-3 relative precision; off unless asked for. LibTorch's
  // switch is process-wide, so every CUDA model of a process must ask for the same.
  bool allow_tf32 = false;
  // Parse weight files other than the official ones (weights.h, WeightsTrust).
  bool allow_unofficial_weights = false;
};

struct ModelInfo {
  Capacity capacity = Capacity::kTiny;
  std::string device;  // resolved, e.g. "cuda:0"
  std::string weights_path;
  std::string weights_sha256;
  int embedding_width = 0;  // C5 / 4: tiny 8, small 16, medium 32, large 48, full 64
  // Frames per forward pass. Every pass has this shape (the tail padded with silence) so that a
  // frame's result never depends on which frames came with it; callers that batch frames (the
  // server's batcher) waste nothing when they hand over multiples of it.
  int64_t micro_batch = 0;
  int64_t resident_bytes = 0;  // the weights as held on the device
};

class Model {
 public:
  // Loads the Keras weights file for `capacity` onto the device.
  static Result<std::unique_ptr<Model>> Load(const std::string& weights_path, Capacity capacity,
                                             const ModelOptions& options = {});
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  // frames: n x 1024 already-normalised samples. activations: n x 360 (output).
  // embeddings: optional n x 32 x embedding_width (output; torchcrepe's layout).
  // Results for a frame are the same however the frames are split over calls.
  // Thread-safe: concurrent calls are serialised per model.
  Status Infer(const float* frames, int64_t n, float* activations, float* embeddings = nullptr);

  const ModelInfo& info() const;

 private:
  struct Impl;
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Whether a CUDA device is usable in this process.
bool CudaAvailable();

}  // namespace crepe
