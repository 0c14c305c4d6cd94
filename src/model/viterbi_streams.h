// Viterbi decoding of many streams (a server's calls) at once, where their activations are (the
// GPU): each stream's scores and the activation rows of its undecided frames stay on the device.
// A batch of the network holds parts of several streams; Advance runs the forward steps of all
// its parts together (one set of tensor operations per step of the longest part, not one per
// stream or per frame), brings back one byte per state and frame (the back-pointers) instead of
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
#include <map>
#include <memory>
#include <vector>

#include "crepe/decode.h"
#include "crepe/status.h"
#include "model/device_decode.h"

namespace crepe {

class ViterbiStreams {
 public:
  explicit ViterbiStreams(const torch::Device& device) : device_(device) {}

  // A new stream, decoding with `decoder` (kViterbi or kViterbiConfidence) within `range`.
  // INVALID_ARGUMENT for another decoder, a bad range, or an id already open.
  Status Open(uint64_t id, Decoder decoder, const BinRange& range);
  // Forgets a stream (finished or abandoned); unknown ids are ignored.
  void Close(uint64_t id);
  bool IsOpen(uint64_t id) const { return streams_.count(id) > 0; }
  size_t open_streams() const { return streams_.size(); }

  // One stream's frames in a batch: rows [row, row + count) of the batch's activations, the
  // stream's next frames. `last`: they end the stream (count may then be 0); its whole path is
  // decided and the stream closed.
  struct Part {
    uint64_t stream = 0;
    int64_t row = 0;
    int64_t count = 0;
    bool last = false;
  };
  // Runs the parts of one batch. activations: (rows, 360) float32 on the device; summaries: the
  // rows' FrameSummary within each stream's range (bin and bin_activation are the observations).
  // Returns, per part, the frames of its stream that became decided (oldest first), summarised
  // at their path's bins (confidence is not filled in). A failure leaves the streams of the
  // parts in an unspecified state: close them.
  Result<std::vector<std::vector<FrameSummary>>> Advance(const torch::Tensor& activations,
                                                         const FrameSummary* summaries, const std::vector<Part>& parts);

  // Bytes held for a stream: undecided rows and scores on the device, back-pointers on the host.
  int64_t held_bytes(uint64_t id) const;

 private:
  struct Stream {
    Stream(Decoder d, const BinRange& r) : decoder(d), range(r), path(r) {}
    Decoder decoder;
    BinRange range;
    ViterbiPath path;
    torch::Tensor score;  // (states) float64 on the device, once a frame was pushed
    torch::Tensor rows;   // (path.frames() - path.decided(), 360) float32 on the device
  };
  Status Forward(const torch::Tensor& activations, const FrameSummary* summaries, const std::vector<Part>& parts,
                 const std::vector<size_t>& members);
  const ViterbiForward& ForwardFor(const BinRange& range);

  torch::Device device_;
  std::map<uint64_t, std::unique_ptr<Stream>> streams_;
  std::map<std::pair<int, int>, std::unique_ptr<ViterbiForward>> forwards_;  // by (lo, hi)
};

}  // namespace crepe
