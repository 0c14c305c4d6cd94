// The decoders of decode.h as tensor operations on (frames, 360) activations, so that they run
// where the activations are (the GPU) and are tested on the CPU against DecodeActivations: the
// same bins (ties included), the same confidence and periodicity, frequencies equal to the
// rounding of one float64 power function.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "crepe/decode.h"

namespace crepe {

// The first most active bin within `range`, per row: (n) int64.
torch::Tensor ArgmaxBins(const torch::Tensor& activations, const BinRange& range);

// Frequency (Hz, float32; NaN where undefined) of each row decoded at `bins`: the bin's centre
// for kArgmax, the original's 9-bin local average (limited to `range`, summed in numpy's order)
// for every other decoder.
torch::Tensor FrequencyAtBins(const torch::Tensor& activations, const torch::Tensor& bins, Decoder decoder,
                              const BinRange& range);

// decode.h's FrameSummary of each row, with a bin range per row (lo, hi: (n) int64, inclusive):
// (n, 4) float64 columns bin, row[bin], max of the row, local-average cents at bin (NaN where
// undefined). Equal to SummarizeFrame bit for bit for finite rows (the same float32 and float64
// operations in the same order; a NaN activation would win torch's argmax, not ArgmaxBin's).
torch::Tensor SummarizeRows(const torch::Tensor& activations, const torch::Tensor& lo, const torch::Tensor& hi);
inline constexpr int kSummaryColumns = 4;

// The original's local average around `bins` (float64 cents; NaN where the weights sum to 0),
// limited to [lo, hi] per row ((n) int64, or scalars): LocalAverageCents bit for bit.
torch::Tensor LocalAverageCentsAtBins(const torch::Tensor& activations, const torch::Tensor& bins,
                                      const torch::Tensor& lo, const torch::Tensor& hi);

// How ViterbiForward runs. kAuto: a host loop on CPU tensors, the fused CUDA kernels on CUDA
// tensors where this build has them (model/viterbi_kernels.h), else tensor operations (a few per
// frame for all sequences at once). kTensorOps: always the latter (tests compare them).
enum class ViterbiImpl { kAuto, kTensorOps };

// The original's HMM over the states of `range` for many sequences at once: ViterbiDecoder's
// sums and tie rule (among equal predecessors the largest wins), on the tensors' device.
class ViterbiForward {
 public:
  ViterbiForward(const BinRange& range, const torch::Device& device, ViterbiImpl impl = ViterbiImpl::kAuto);
  // The forward steps of n sequences, up to `steps` frames each, on this forward's device.
  // score: (n, states) float64, each sequence's scores after its previous frame (ignored where
  // fresh: the sequence starts at this frame 0). observed: (n, steps) int64 states (0-based in the
  // range); hit, miss: (n, steps) float64 log emission probabilities (ViterbiEmission); length:
  // (n) int64 frames of each; fresh: (n) bool. Returns the scores after each sequence's last frame
  // and the back-pointers, (n, steps, states) int8 offsets in [-11, 11] (rows past a sequence's
  // length unspecified; a fresh sequence's row 0 unused).
  std::pair<torch::Tensor, torch::Tensor> Run(const torch::Tensor& score, const torch::Tensor& observed,
                                              const torch::Tensor& hit, const torch::Tensor& miss,
                                              const torch::Tensor& length, const torch::Tensor& fresh) const;
  // The whole paths of sequences Run from their frame 0: (n, steps) int64 bins, from each one's
  // first best final state (`score`, as Run returned it) back; entries past a length unspecified.
  torch::Tensor Backtrack(const torch::Tensor& back, const torch::Tensor& score, const torch::Tensor& length) const;
  int states() const { return states_; }

 private:
  std::pair<torch::Tensor, torch::Tensor> RunOnHost(torch::Tensor score, const torch::Tensor& observed,
                                                    const torch::Tensor& hit, const torch::Tensor& miss,
                                                    const torch::Tensor& length, const torch::Tensor& fresh) const;
  std::pair<torch::Tensor, torch::Tensor> RunTensorOps(torch::Tensor score, const torch::Tensor& observed,
                                                       const torch::Tensor& hit, const torch::Tensor& miss,
                                                       const torch::Tensor& length, const torch::Tensor& fresh) const;
  bool UseKernels() const;

  int lo_;
  int states_;
  torch::Device device_;
  ViterbiImpl impl_;
  torch::Tensor transition_;  // (states, 23) float64 on the device: from the largest predecessor down
};

// Viterbi paths (ViterbiDecoder's exact path and tie rules) of B sequences at once.
// observed_bins: (B, T) int64 argmax bins, rows padded past each sequence's length;
// emit_hit / emit_miss: (B, T) float64 log emission probabilities of the observed bin and of any
// other bin (ViterbiEmission), lengths: each sequence's frame count (>= 1, <= T).
// Returns (B, T) int64 bins; entries past a sequence's length are unspecified.
torch::Tensor ViterbiPaths(const torch::Tensor& observed_bins, const torch::Tensor& emit_hit,
                           const torch::Tensor& emit_miss, const std::vector<int64_t>& lengths, const BinRange& range,
                           ViterbiImpl impl = ViterbiImpl::kAuto);

}  // namespace crepe
