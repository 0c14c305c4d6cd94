#include "model/viterbi_streams.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <string>
#include <utility>

#include "crepe/capacity.h"

namespace crepe {
namespace {

torch::Tensor HostTensor(const std::vector<int64_t>& sizes, torch::Dtype dtype) {
  return torch::empty(sizes, torch::TensorOptions().dtype(dtype));
}

}  // namespace

void ViterbiStreams::Forget(const std::vector<uint64_t>& streams) {
  for (uint64_t id : streams) streams_.erase(id);
}

// A part follows on from its stream's frames (frame 0 for a stream not yet open), within the batch.
Status ViterbiStreams::Check(const ViterbiPart& part, int64_t rows, bool have_summaries) const {
  const std::string which = "Viterbi stream " + std::to_string(part.stream);
  if (!IsViterbi(part.decoder)) return InternalError(which + ": not a Viterbi decoder");
  if (part.range.lo < 0 || part.range.hi >= kPitchBins || part.range.hi < part.range.lo) {
    return InternalError(which + ": invalid bin range");
  }
  if (part.count < 0 || part.row < 0 || part.row + part.count > rows || (part.count > 0 && !have_summaries)) {
    return InternalError(which + ": rows [" + std::to_string(part.row) + ", " + std::to_string(part.row + part.count) +
                         ") are not in the batch of " + std::to_string(rows));
  }
  const auto it = streams_.find(part.stream);
  const int64_t expected = it == streams_.end() ? 0 : it->second->path.frames();
  if (part.frame != expected ||
      (it != streams_.end() && (it->second->decoder != part.decoder || it->second->range.lo != part.range.lo ||
                                it->second->range.hi != part.range.hi))) {
    return InternalError(which + ": a part from frame " + std::to_string(part.frame) + " where frame " +
                         std::to_string(expected) + " was expected");
  }
  return Status::Ok();
}

int64_t ViterbiStreams::held_bytes(uint64_t id) const {
  const auto it = streams_.find(id);
  if (it == streams_.end()) return 0;
  const Stream& s = *it->second;
  int64_t bytes = s.path.held_bytes();
  if (s.score.defined()) bytes += s.score.numel() * static_cast<int64_t>(sizeof(double));
  for (const torch::Tensor& block : s.rows) bytes += block.numel() * static_cast<int64_t>(sizeof(float));
  return bytes;
}

bool ViterbiStreams::Stream::TakeRows(int64_t d, std::vector<torch::Tensor>* out) {
  while (d > 0) {
    if (rows.empty()) return false;
    torch::Tensor& block = rows.front();
    const int64_t take = std::min(d, block.size(0));
    out->push_back(block.narrow(0, 0, take));
    if (take == block.size(0)) {
      rows.pop_front();
    } else {
      block = block.narrow(0, take, block.size(0) - take);
    }
    d -= take;
  }
  return true;
}

const ViterbiForward& ViterbiStreams::ForwardFor(const BinRange& range) {
  // Calls choose their ranges: a bounded cache (64 x at most 66 KB of transitions).
  if (forwards_.size() >= 64 && forwards_.count({range.lo, range.hi}) == 0) forwards_.clear();
  std::unique_ptr<ViterbiForward>& f = forwards_[{range.lo, range.hi}];
  if (!f) f = std::make_unique<ViterbiForward>(range, device_, impl_);
  return *f;
}

// The forward steps of `members` (indices into parts, at most one per stream, all with frames),
// one group per bin range: steps of every part of a group run together.
Status ViterbiStreams::Forward(const torch::Tensor& activations, const FrameSummary* summaries,
                               const std::vector<ViterbiPart>& parts, const std::vector<size_t>& members) {
  std::map<std::pair<int, int>, std::vector<size_t>> groups;
  for (size_t m : members) {
    const BinRange& r = streams_.at(parts[m].stream)->range;
    groups[{r.lo, r.hi}].push_back(m);
  }
  for (const auto& [key, group] : groups) {
    const BinRange range{key.first, key.second};
    const ViterbiForward& forward = ForwardFor(range);
    const int states = forward.states();
    const auto n = static_cast<int64_t>(group.size());
    int64_t steps = 0;
    for (size_t m : group) steps = std::max(steps, parts[m].count);
    // Observations and emissions on the host (ViterbiEmissionFor, as ViterbiDecoder computes them).
    torch::Tensor observed = HostTensor({n, steps}, torch::kInt64).zero_();
    torch::Tensor hit = HostTensor({n, steps}, torch::kFloat64).zero_();
    torch::Tensor miss = HostTensor({n, steps}, torch::kFloat64).zero_();
    torch::Tensor length = HostTensor({n}, torch::kInt64);
    torch::Tensor fresh = HostTensor({n}, torch::kBool);
    int64_t* observed_at = observed.data_ptr<int64_t>();
    double* hit_at = hit.data_ptr<double>();
    double* miss_at = miss.data_ptr<double>();
    std::vector<torch::Tensor> scores;
    for (int64_t p = 0; p < n; ++p) {
      const ViterbiPart& part = parts[group[static_cast<size_t>(p)]];
      Stream& s = *streams_.at(part.stream);
      const bool weighted = s.decoder == Decoder::kViterbiConfidence;
      for (int64_t t = 0; t < part.count; ++t) {
        const FrameSummary& f = summaries[part.row + t];
        const ViterbiEmission e = ViterbiEmissionFor(weighted, f.bin_activation);
        observed_at[p * steps + t] = std::clamp(f.bin, range.lo, range.hi) - range.lo;
        hit_at[p * steps + t] = e.hit;
        miss_at[p * steps + t] = e.miss;
      }
      length.data_ptr<int64_t>()[p] = part.count;
      fresh.data_ptr<bool>()[p] = s.path.frames() == 0;
      scores.push_back(s.score.defined()
                           ? s.score
                           : torch::zeros({states}, torch::TensorOptions().dtype(torch::kFloat64).device(device_)));
    }
    const auto [score, back] = forward.Run(torch::stack(scores), observed.to(device_), hit.to(device_),
                                           miss.to(device_), length.to(device_), fresh.to(device_));
    const torch::Tensor host_back = back.cpu();  // (n, steps, states)
    for (int64_t p = 0; p < n; ++p) {
      const ViterbiPart& part = parts[group[static_cast<size_t>(p)]];
      Stream& s = *streams_.at(part.stream);
      const int8_t* rows = host_back[p].data_ptr<int8_t>();
      for (int64_t t = 0; t < part.count; ++t) {
        int8_t* row = s.path.AppendFrame();
        if (row == nullptr) return ResourceExhaustedError("out of memory for a Viterbi path");
        std::memcpy(row, rows + t * states, static_cast<size_t>(states));
      }
      s.score = score[p].clone();
      s.rows.push_back(activations.narrow(0, part.row, part.count).clone());
    }
  }
  return Status::Ok();
}

Result<std::vector<std::vector<FrameSummary>>> ViterbiStreams::Advance(const torch::Tensor& activations,
                                                                       const FrameSummary* summaries,
                                                                       const std::vector<ViterbiPart>& parts) {
  const int64_t rows = activations.defined() ? activations.size(0) : 0;
  std::vector<std::vector<FrameSummary>> decided(parts.size());
  try {
    // Rounds of at most one part per stream (a stream's parts follow on from each other).
    std::vector<bool> done(parts.size(), false);
    size_t remaining = parts.size();
    while (remaining > 0) {
      std::vector<size_t> round, forward;
      std::vector<uint64_t> seen;
      for (size_t i = 0; i < parts.size(); ++i) {
        if (done[i] || std::find(seen.begin(), seen.end(), parts[i].stream) != seen.end()) continue;
        CREPE_RETURN_IF_ERROR(Check(parts[i], rows, summaries != nullptr));
        if (!IsOpen(parts[i].stream)) {
          streams_.emplace(parts[i].stream, std::make_unique<Stream>(parts[i].decoder, parts[i].range));
        }
        seen.push_back(parts[i].stream);
        round.push_back(i);
        if (parts[i].count > 0) forward.push_back(i);
      }
      CREPE_RETURN_IF_ERROR(Forward(activations, summaries, parts, forward));
      // The frames each part's stream has decided, read at their path's bins in one pass.
      std::vector<torch::Tensor> decided_rows;
      std::vector<int64_t> bins, lo, hi;
      for (size_t i : round) {
        Stream& s = *streams_.at(parts[i].stream);
        Result<std::vector<int>> path = std::vector<int>{};
        if (parts[i].last) {
          const int last_state = s.score.defined() ? static_cast<int>(s.score.argmax().item<int64_t>()) : 0;
          path = s.path.Finish(last_state);
        } else {
          path = s.path.TakeDecided();
        }
        if (!path.ok()) return path.status();
        const auto d = static_cast<int64_t>(path->size());
        if (d == 0) continue;
        if (!s.TakeRows(d, &decided_rows)) {
          return InternalError("Viterbi stream " + std::to_string(parts[i].stream) + " decided " + std::to_string(d) +
                               " frames but holds fewer rows");
        }
        for (int b : *path) {
          bins.push_back(b);
          lo.push_back(s.range.lo);
          hi.push_back(s.range.hi);
        }
        decided[i].resize(static_cast<size_t>(d));
        for (int64_t k = 0; k < d; ++k) decided[i][static_cast<size_t>(k)].bin = (*path)[static_cast<size_t>(k)];
      }
      if (!bins.empty()) {
        const torch::Tensor all_rows = torch::cat(decided_rows);
        const torch::Tensor bin = torch::tensor(bins, torch::kInt64).to(device_);
        const torch::Tensor cents = LocalAverageCentsAtBins(all_rows, bin, torch::tensor(lo, torch::kInt64).to(device_),
                                                            torch::tensor(hi, torch::kInt64).to(device_))
                                        .cpu()
                                        .contiguous();
        const torch::Tensor at_bin = all_rows.gather(1, bin.unsqueeze(1)).squeeze(1).cpu().contiguous();
        const double* c = cents.data_ptr<double>();
        const float* a = at_bin.data_ptr<float>();
        for (size_t i : round) {
          for (FrameSummary& f : decided[i]) {
            f.bin_activation = *a++;
            f.local_average_cents = *c++;
          }
        }
      }
      for (size_t i : round) {
        if (parts[i].last) streams_.erase(parts[i].stream);
        done[i] = true;
        --remaining;
      }
    }
  } catch (const c10::OutOfMemoryError& e) {
    return ResourceExhaustedError(std::string("out of device memory decoding Viterbi paths: ") +
                                  e.what_without_backtrace());
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory decoding Viterbi paths");
  }
  return decided;
}

Status CheckViterbiStreams(const torch::Device& device) {
  constexpr int kStreams = 8;
  constexpr int64_t kFrames = 300;
  const int64_t cuts[] = {0, 100, 237, kFrames};  // three batches
  // Frame t of stream s: a wandering peak (activation 0.05..1) and a fixed second one, all ties
  // elsewhere (zeros).
  std::vector<std::vector<float>> rows(kStreams, std::vector<float>(kFrames * kPitchBins, 0.0f));
  uint64_t seed = 12345;
  auto next = [&seed] {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<int>(seed >> 33);
  };
  std::vector<Decoder> decoders;
  std::vector<BinRange> ranges;
  for (int s = 0; s < kStreams; ++s) {
    decoders.push_back(s % 2 == 0 ? Decoder::kViterbi : Decoder::kViterbiConfidence);
    ranges.push_back(s % 4 < 2 ? BinRange{} : BinRange{40, 300});
    int bin = 60 + 20 * s;
    for (int64_t t = 0; t < kFrames; ++t) {
      bin = std::clamp(bin + next() % 9 - 4, 0, kPitchBins - 1);
      if (next() % 25 == 0) bin = next() % kPitchBins;
      float* row = rows[s].data() + t * kPitchBins;
      row[bin] = 0.05f + static_cast<float>(next() % 96) / 100.0f;
      row[(bin + 180) % kPitchBins] = 0.3f;
    }
  }
  ViterbiStreams streams(device);
  std::vector<std::vector<FrameSummary>> decided(kStreams);
  for (int c = 0; c + 1 < 4; ++c) {
    std::vector<float> batch;
    std::vector<FrameSummary> summaries;
    std::vector<ViterbiPart> parts;
    for (int s = 0; s < kStreams; ++s) {
      const int64_t first = cuts[c], n = cuts[c + 1] - cuts[c];
      parts.push_back({static_cast<uint64_t>(s + 1), decoders[s], ranges[s], first,
                       static_cast<int64_t>(summaries.size()), n, c == 2});
      for (int64_t t = first; t < first + n; ++t) {
        const float* row = rows[s].data() + t * kPitchBins;
        batch.insert(batch.end(), row, row + kPitchBins);
        summaries.push_back(SummarizeFrame(row, ranges[s], false));
      }
    }
    const torch::Tensor activations =
        torch::from_blob(batch.data(), {static_cast<int64_t>(summaries.size()), kPitchBins}, torch::kFloat32)
            .to(device);
    CREPE_ASSIGN_OR_RETURN(auto out, streams.Advance(activations, summaries.data(), parts));
    for (int s = 0; s < kStreams; ++s) decided[s].insert(decided[s].end(), out[s].begin(), out[s].end());
  }
  for (int s = 0; s < kStreams; ++s) {
    CREPE_ASSIGN_OR_RETURN(DecodedPitch want, DecodeActivations(rows[s].data(), kFrames, decoders[s], ranges[s]));
    if (static_cast<int64_t>(decided[s].size()) != kFrames) {
      return InternalError("the device's Viterbi decided " + std::to_string(decided[s].size()) + " of " +
                           std::to_string(kFrames) + " frames of a test stream");
    }
    for (int64_t t = 0; t < kFrames; ++t) {
      float f = 0, p = 0;
      DecodeSummary(decided[s][t], decoders[s], &f, &p);
      const bool same_f = std::memcmp(&f, &want.frequency[t], sizeof f) == 0;
      if (decided[s][t].bin != want.bins[t] || !same_f || p != want.periodicity[t]) {
        return InternalError("the device's Viterbi differs from the CPU decoder on test stream " + std::to_string(s) +
                             ", frame " + std::to_string(t) + ": bin " + std::to_string(decided[s][t].bin) + " vs " +
                             std::to_string(want.bins[t]));
      }
    }
  }
  return Status::Ok();
}

}  // namespace crepe
