// Frame cutting and normalisation as tensor operations, so that they run where the audio is: on
// the GPU (16 kHz audio goes up once instead of each sample 6.4 times inside 10 ms-hop windows)
// or on the CPU, where the tests compare them with ExtractFrame + NormaliseFrame (frames.h).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "crepe/frames.h"

namespace crepe {

// Several clips' 16 kHz audio in one host buffer, each clip preceded and followed by
// kFrameLength zeros, so that every window (whose start lies within a window of the clip's ends)
// sees the clip's own samples and zeros, never a neighbour's.
struct PackedClips {
  std::vector<int64_t> clip_offset;  // index in the buffer of each clip's first sample
  std::vector<int64_t> first_frame;  // index of each clip's first frame among all frames; one extra at the end
  std::vector<int64_t> starts;       // per frame, the buffer index of its first sample
  int64_t buffer_samples = 0;
};

// Lays out clips of the given lengths and grids (the buffer itself is filled by the caller).
PackedClips PackClips(const std::vector<int64_t>& samples, const std::vector<const FrameGrid*>& grids);

// buffer: (buffer_samples) float32; starts: (n) int64, both on one device. Returns (n, 1024)
// float32 frames on that device, each normalised as NormaliseFrame does (mean and standard
// deviation accumulated in float64, rounded to float32 once).
torch::Tensor CutFrames(const torch::Tensor& buffer, const torch::Tensor& starts);

}  // namespace crepe
