// One forward pass of a network captured as a CUDA graph and replayed: a pass of a small model is
// hundreds of short kernels whose launch costs more than their work. Internal to src/model.
//
// Threads: a GraphPass belongs to one Model and is used under that model's mutex, on the model's
// own stream (the current stream when Capture and Replay are called).
#pragma once

#include <torch/torch.h>

#include <memory>

#include "model/network.h"

namespace crepe {

class GraphPass {
 public:
  // Captures network.Forward(input, /*want_embedding=*/true) on the current CUDA stream, which
  // must not be the default stream; `input` (pass frames x 1024, on the device) stays the
  // graph's input buffer. Null where this build has no CUDA graph support (no CUDA runtime
  // headers at build time) or where the capture failed (the capture is then ended).
  static std::unique_ptr<GraphPass> Capture(const Network& network, const torch::Tensor& input);
  virtual ~GraphPass() = default;
  // Runs the captured pass on what `input` holds now; outputs land in activations()/embeddings().
  virtual void Replay() = 0;
  virtual const torch::Tensor& activations() const = 0;
  virtual const torch::Tensor& embeddings() const = 0;
};

// Whether this build can capture CUDA graphs.
bool CudaGraphsBuilt();

// LibTorch's caching allocator's allocated and reserved bytes on CUDA device `index`; zeros where
// this build cannot ask (no CUDA toolkit headers).
std::pair<int64_t, int64_t> CudaMemoryStats(int index);

}  // namespace crepe
