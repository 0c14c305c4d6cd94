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

// One forward step of the original's HMM for many sequences at once, over the states of `range`
// (ViterbiDecoder::Push's sums and tie rule: among equal predecessors the largest wins).
class ViterbiForward {
 public:
  ViterbiForward(const BinRange& range, const torch::Device& device);
  // score: (B, states) float64. Returns each state's best predecessor score plus its transition,
  // and that predecessor as an offset in [-11, 11] ((B, states) int8).
  std::pair<torch::Tensor, torch::Tensor> Step(const torch::Tensor& score) const;
  // Log emission probabilities (B, states) float64 of observed states (B) int64 (0-based in the
  // range), given each row's hit and miss probabilities (B) float64.
  torch::Tensor Emission(const torch::Tensor& observed, const torch::Tensor& hit, const torch::Tensor& miss) const;
  int states() const { return states_; }

 private:
  int states_;
  torch::Tensor transition_;  // (1, states, 23): from the largest predecessor down
};

// Viterbi paths (ViterbiDecoder's exact path and tie rules) of B sequences at once.
// observed_bins: (B, T) int64 argmax bins, rows padded past each sequence's length;
// emit_hit / emit_miss: (B, T) float64 log emission probabilities of the observed bin and of any
// other bin (ViterbiEmission), lengths: each sequence's frame count (>= 1, <= T).
// Returns (B, T) int64 bins; entries past a sequence's length are unspecified.
torch::Tensor ViterbiPaths(const torch::Tensor& observed_bins, const torch::Tensor& emit_hit,
                           const torch::Tensor& emit_miss, const std::vector<int64_t>& lengths, const BinRange& range);

}  // namespace crepe
