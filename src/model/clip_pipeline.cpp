#include "model/clip_pipeline.h"

#include <cstring>
#include <map>
#include <string>
#include <tuple>

#include "crepe/capacity.h"
#include "model/device_decode.h"
#include "model/device_framing.h"

namespace crepe {
namespace {

Status CheckClip(const ClipRequest& clip, size_t index) {
  const std::string which = "clip " + std::to_string(index) + ": ";
  if (clip.grid == nullptr) return InvalidArgumentError(which + "no frame grid");
  if (clip.samples < 0 || clip.grid->num_samples_16k() != clip.samples) {
    return InvalidArgumentError(which + "its frame grid was made for " + std::to_string(clip.grid->num_samples_16k()) +
                                " samples, the clip has " + std::to_string(clip.samples));
  }
  if (clip.samples > 0 && clip.audio16k == nullptr) return InvalidArgumentError(which + "no audio");
  if (clip.range.lo < 0 || clip.range.hi >= kPitchBins || clip.range.hi < clip.range.lo) {
    return InvalidArgumentError(which + "invalid bin range");
  }
  return Status::Ok();
}

torch::Tensor ToDevice(const std::vector<int64_t>& values, const torch::Device& device) {
  return torch::tensor(values, torch::kInt64).to(device);
}

// Decodes the clips of one group (same bin range, same decoder) from the activations of all frames.
void DecodeGroup(const std::vector<size_t>& members, const std::vector<ClipRequest>& clips, const PackedClips& packed,
                 const torch::Tensor& activations, std::vector<ClipResult>* results) {
  const ClipRequest& head = clips[members.front()];
  const torch::Device device = activations.device();
  std::vector<int64_t> rows;
  std::vector<int64_t> lengths;
  for (size_t c : members) {
    lengths.push_back(packed.first_frame[c + 1] - packed.first_frame[c]);
    for (int64_t f = packed.first_frame[c]; f < packed.first_frame[c + 1]; ++f) rows.push_back(f);
  }
  const torch::Tensor act = activations.index_select(0, ToDevice(rows, device));
  torch::Tensor bins = ArgmaxBins(act, head.range);
  if (IsViterbi(head.decoder)) {
    // Sequences side by side, padded to the longest (the padding repeats a sequence's last row,
    // which the decoder ignores).
    const auto batch = static_cast<int64_t>(members.size());
    int64_t steps = 0;
    for (int64_t l : lengths) steps = std::max(steps, l);
    std::vector<int64_t> gather(static_cast<size_t>(batch * steps)), scatter;
    scatter.reserve(rows.size());
    for (int64_t b = 0, offset = 0; b < batch; offset += lengths[b], ++b) {
      for (int64_t t = 0; t < steps; ++t) gather[b * steps + t] = offset + std::min(t, lengths[b] - 1);
      for (int64_t t = 0; t < lengths[b]; ++t) scatter.push_back(b * steps + t);
    }
    const torch::Tensor gather_index = ToDevice(gather, device);
    const torch::Tensor observed = bins.index_select(0, gather_index).reshape({batch, steps});
    torch::Tensor hit, miss;
    if (head.decoder == Decoder::kViterbiConfidence) {
      // Emissions from each observed bin's activation, computed by the CPU decoder's own function
      // (4 bytes a frame come back for it) so that the path is the CPU decoder's exactly.
      const torch::Tensor observed_act =
          act.gather(1, bins.unsqueeze(1)).squeeze(1).index_select(0, gather_index).to(torch::kCPU);
      hit = torch::empty({batch, steps}, torch::kFloat64);
      miss = torch::empty({batch, steps}, torch::kFloat64);
      const float* a = observed_act.data_ptr<float>();
      double* h = hit.data_ptr<double>();
      double* m = miss.data_ptr<double>();
      for (int64_t i = 0; i < batch * steps; ++i) {
        const ViterbiEmission e = ViterbiEmissionFor(true, a[i]);
        h[i] = e.hit;
        m[i] = e.miss;
      }
      hit = hit.to(device);
      miss = miss.to(device);
    } else {
      const ViterbiEmission e = ViterbiEmissionFor(false, 1.0f);
      const auto options = torch::TensorOptions().dtype(torch::kFloat64).device(device);
      hit = torch::full({batch, steps}, e.hit, options);
      miss = torch::full({batch, steps}, e.miss, options);
    }
    const torch::Tensor paths = ViterbiPaths(observed, hit, miss, lengths, head.range);
    bins = paths.reshape({-1}).index_select(0, ToDevice(scatter, device));
  }
  const torch::Tensor floats = torch::stack({FrequencyAtBins(act, bins, head.decoder, head.range), act.amax(1),
                                             act.gather(1, bins.unsqueeze(1)).squeeze(1)})
                                   .to(torch::kCPU);
  const torch::Tensor bins_host = bins.to(torch::kInt32).to(torch::kCPU);
  const float* frequency = floats[0].data_ptr<float>();
  const float* confidence = floats[1].data_ptr<float>();
  const float* periodicity = floats[2].data_ptr<float>();
  const int* bin = bins_host.data_ptr<int>();
  int64_t at = 0;
  for (size_t k = 0; k < members.size(); ++k) {
    DecodedPitch& p = (*results)[members[k]].pitch;
    const int64_t n = lengths[k];
    p.frequency.assign(frequency + at, frequency + at + n);
    p.confidence.assign(confidence + at, confidence + at + n);
    p.periodicity.assign(periodicity + at, periodicity + at + n);
    p.bins.assign(bin + at, bin + at + n);
    at += n;
  }
}

}  // namespace

Status RunClips(const ClipPipeline& pipeline, const std::vector<ClipRequest>& clips, std::vector<ClipResult>* results) {
  if (results == nullptr) return InvalidArgumentError("null results");
  for (size_t c = 0; c < clips.size(); ++c) CREPE_RETURN_IF_ERROR(CheckClip(clips[c], c));
  results->assign(clips.size(), ClipResult{});
  std::vector<int64_t> samples;
  std::vector<const FrameGrid*> grids;
  bool any_embeddings = false;
  for (const ClipRequest& clip : clips) {
    samples.push_back(clip.samples);
    grids.push_back(clip.grid);
    any_embeddings = any_embeddings || clip.want_embeddings;
  }
  const PackedClips packed = PackClips(samples, grids);
  const int64_t total = packed.first_frame.back();
  if (total == 0) return Status::Ok();

  // Up: each clip's samples once, and one integer per frame.
  const auto host = torch::TensorOptions().dtype(torch::kFloat32).pinned_memory(pipeline.pinned);
  const torch::Tensor buffer_host = torch::zeros({packed.buffer_samples}, host);
  for (size_t c = 0; c < clips.size(); ++c) {
    if (clips[c].samples > 0) {
      std::memcpy(buffer_host.data_ptr<float>() + packed.clip_offset[c], clips[c].audio16k,
                  sizeof(float) * static_cast<size_t>(clips[c].samples));
    }
  }
  const torch::Tensor starts_host =
      torch::from_blob(const_cast<int64_t*>(packed.starts.data()), {total}, torch::kInt64).clone();
  const torch::Tensor buffer = buffer_host.to(pipeline.device, /*non_blocking=*/true);
  const torch::Tensor starts = starts_host.to(pipeline.device);

  const auto on_device = torch::TensorOptions().dtype(torch::kFloat32).device(pipeline.device);
  const torch::Tensor activations = torch::empty({total, kPitchBins}, on_device);
  torch::Tensor embeddings;
  if (any_embeddings) embeddings = torch::empty({total, kEmbeddingRows, pipeline.embedding_width}, on_device);
  for (int64_t first = 0; first < total; first += pipeline.pass_frames) {
    const int64_t count = std::min(pipeline.pass_frames, total - first);
    auto [act, emb] = pipeline.run_pass(CutFrames(buffer, starts.narrow(0, first, count)), any_embeddings);
    activations.narrow(0, first, count).copy_(act);
    if (any_embeddings) embeddings.narrow(0, first, count).copy_(*emb);
  }

  std::map<std::tuple<int, int, Decoder>, std::vector<size_t>> groups;
  for (size_t c = 0; c < clips.size(); ++c) {
    if (packed.first_frame[c + 1] > packed.first_frame[c]) {
      groups[{clips[c].range.lo, clips[c].range.hi, clips[c].decoder}].push_back(c);
    }
  }
  for (const auto& [key, members] : groups) DecodeGroup(members, clips, packed, activations, results);

  // Down: activations and embeddings only for the clips that asked for them.
  for (size_t c = 0; c < clips.size(); ++c) {
    const int64_t first = packed.first_frame[c], n = packed.first_frame[c + 1] - first;
    ClipResult& r = (*results)[c];
    if (clips[c].want_activations && n > 0) {
      const torch::Tensor a = activations.narrow(0, first, n).to(torch::kCPU);
      r.activations.assign(a.data_ptr<float>(), a.data_ptr<float>() + a.numel());
    }
    if (clips[c].want_embeddings && n > 0) {
      const torch::Tensor e = embeddings.narrow(0, first, n).to(torch::kCPU).contiguous();
      r.embeddings.assign(e.data_ptr<float>(), e.data_ptr<float>() + e.numel());
    }
  }
  pipeline.synchronize();
  return Status::Ok();
}

}  // namespace crepe
