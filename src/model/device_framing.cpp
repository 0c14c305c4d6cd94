#include "model/device_framing.h"

#include "crepe/capacity.h"

namespace crepe {

PackedClips PackClips(const std::vector<int64_t>& samples, const std::vector<const FrameGrid*>& grids) {
  PackedClips p;
  int64_t position = kFrameLength;  // leading zeros
  int64_t frames = 0;
  for (size_t c = 0; c < samples.size(); ++c) {
    p.clip_offset.push_back(position);
    p.first_frame.push_back(frames);
    frames += grids[c]->size();
    position += samples[c] + kFrameLength;  // the clip, then zeros shared with the next clip
  }
  p.first_frame.push_back(frames);
  p.buffer_samples = position;
  p.starts.reserve(static_cast<size_t>(frames));
  for (size_t c = 0; c < samples.size(); ++c) {
    for (int64_t t = 0; t < grids[c]->size(); ++t) p.starts.push_back(p.clip_offset[c] + grids[c]->Start(t));
  }
  return p;
}

torch::Tensor CutFrames(const torch::Tensor& buffer, const torch::Tensor& starts) {
  const auto window = torch::arange(kFrameLength, starts.options());
  // Starts lie within kFrameLength of their clip, so indices stay inside the buffer; the clamp
  // only guards against a caller's mistake turning into an out-of-bounds read.
  const auto index = (starts.unsqueeze(1) + window).clamp(0, buffer.size(0) - 1);
  const torch::Tensor x = buffer.take(index);  // (n, 1024)
  const torch::Tensor mean = (x.to(torch::kFloat64).sum(1, /*keepdim=*/true) / kFrameLength).to(torch::kFloat32);
  const torch::Tensor centred = x - mean;
  const torch::Tensor variance = centred.to(torch::kFloat64).square().sum(1, /*keepdim=*/true) / kFrameLength;
  const torch::Tensor std_dev = variance.sqrt().to(torch::kFloat32).clamp_min(1e-8f);
  return centred / std_dev;
}

}  // namespace crepe
