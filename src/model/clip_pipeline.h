// Model::PredictClips's work, apart from the network: pack the clips' audio, cut frames on the
// device, run them through the network pass by pass, decode on the device, bring back what was
// asked for. Internal to src/model.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "crepe/model.h"

namespace crepe {

struct ClipPipeline {
  torch::Device device{torch::kCPU};
  int64_t pass_frames = 0;
  int embedding_width = 0;
  bool pinned = false;  // stage host memory in page-locked buffers (CUDA)
  // One forward pass over frames (count <= pass_frames, on the device).
  std::function<std::pair<torch::Tensor, std::optional<torch::Tensor>>(const torch::Tensor&, bool)> run_pass;
  std::function<void()> synchronize;
};

// Validates the clips (clear errors, nothing run on a bad one) and fills `results`, one per clip.
// Throws what LibTorch throws (the caller turns it into a Status).
Status RunClips(const ClipPipeline& pipeline, const std::vector<ClipRequest>& clips, std::vector<ClipResult>* results);

}  // namespace crepe
