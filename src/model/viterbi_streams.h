// Viterbi decoding of many streams (a server's calls) at once, where their activations are (the
// GPU): each stream's scores and the activation rows of its undecided frames stay on the device.
// A batch of the network holds parts of several streams; Advance runs the forward steps of all
// its parts together (ViterbiForward: one fused kernel launch on a GPU, a host loop on the CPU),
// brings back one byte per state and frame (the back-pointers) instead of
// the 1440 bytes of a row, decides the path on the host (ViterbiPath, exactly as ViterbiDecoder
// does) and reads each decided frame's local average at its path's bin on the device.
//
// The decided frames come back as FrameSummary values at the path's bins, so DecodeSummary gives
// DecodeAtBin's frequency and periodicity bit for bit: a stream decodes exactly as
// ViterbiDecoder + DecodeAtBin over the same activations, however its frames were batched.
//
// Threads: not thread-safe. One thread, the one that runs the device's batches, calls everything.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <vector>

#include "crepe/decode.h"
#include "crepe/status.h"
#include "model/device_decode.h"

namespace crepe {

class ViterbiStreams {
 public:
  explicit ViterbiStreams(const torch::Device& device, ViterbiImpl impl = ViterbiImpl::kAuto)
      : device_(device), impl_(impl) {}

  // Runs the parts (decode.h's ViterbiPart) of one batch. activations: (rows, 360) float32 on the
  // device (undefined when no part has frames); summaries: the rows' FrameSummary within each
  // part's range (bin and bin_activation are the observations). Returns, per part, the frames of
  // its stream that became decided (ViterbiRequest::decided). A part with frame 0 opens its
  // stream; a part that does not follow on from its stream's frames is an INTERNAL error, and
  // leaves the streams of the batch in an unspecified state (forget them).
  Result<std::vector<std::vector<FrameSummary>>> Advance(const torch::Tensor& activations,
                                                         const FrameSummary* summaries,
                                                         const std::vector<ViterbiPart>& parts);
  // Drops streams abandoned before their last part; unknown ids are ignored.
  void Forget(const std::vector<uint64_t>& streams);

  bool IsOpen(uint64_t id) const { return streams_.count(id) > 0; }
  size_t open_streams() const { return streams_.size(); }
  // Bytes held for a stream: undecided rows and scores on the device, back-pointers on the host.
  int64_t held_bytes(uint64_t id) const;

 private:
  struct Stream {
    Stream(Decoder d, const BinRange& r) : decoder(d), range(r), path(r) {}
    Decoder decoder;
    BinRange range;
    ViterbiPath path;
    torch::Tensor score;  // (states) float64 on the device, once a frame was pushed
    // The undecided frames' rows on the device, one (count, 360) float32 block per part, so that
    // a batch appends and takes rows without copying the ones that stay.
    std::deque<torch::Tensor> rows;
    // Moves the first d undecided rows to `out` (pieces of blocks, in order); false if fewer are held.
    bool TakeRows(int64_t d, std::vector<torch::Tensor>* out);
  };
  Status Check(const ViterbiPart& part, int64_t rows, bool have_summaries) const;
  Status Forward(const torch::Tensor& activations, const FrameSummary* summaries, const std::vector<ViterbiPart>& parts,
                 const std::vector<size_t>& members);
  const ViterbiForward& ForwardFor(const BinRange& range);

  torch::Device device_;
  ViterbiImpl impl_;
  std::map<uint64_t, std::unique_ptr<Stream>> streams_;
  std::map<std::pair<int, int>, std::unique_ptr<ViterbiForward>> forwards_;  // by (lo, hi)
};

// Runs ViterbiStreams on `device` over a synthetic batch (wandering tracks with ties, both
// Viterbi decoders, two bin ranges, parts of uneven sizes) and compares every decided frame with
// ViterbiDecoder + DecodeAtBin on the CPU: INTERNAL naming the first difference, if any. A server
// runs it before trusting a device's Viterbi (the fused kernels run only where a GPU is).
Status CheckViterbiStreams(const torch::Device& device);

}  // namespace crepe
