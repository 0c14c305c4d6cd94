#include "model/device_decode.h"

#include <cmath>
#include <limits>

#include "crepe/capacity.h"

namespace crepe {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

torch::Tensor BinCentsTable(const torch::Device& device) {
  std::vector<double> cents(kPitchBins);
  for (int b = 0; b < kPitchBins; ++b) cents[b] = BinToCents(b);
  return torch::tensor(cents, torch::kFloat64).to(device);
}

torch::Tensor BinHzTable(const torch::Device& device) {
  std::vector<float> hz(kPitchBins);
  for (int b = 0; b < kPitchBins; ++b) hz[b] = static_cast<float>(BinToHz(b));
  return torch::tensor(hz, torch::kFloat32).to(device);
}

// numpy's np.sum of n <= 9 values (NumpySmallSum in decoders.cpp), for 9 columns of which the
// first n are the values and the rest zeros: in order below 8 values, else eight values as a
// tree and the ninth added. Zeros added at the end leave either sum unchanged.
torch::Tensor NumpySumOf9(const torch::Tensor& v, const torch::Tensor& n) {
  auto col = [&v](int64_t k) { return v.select(1, k); };
  torch::Tensor sequential = col(0);
  for (int k = 1; k < 9; ++k) sequential = sequential + col(k);
  const torch::Tensor tree = ((col(0) + col(1)) + (col(2) + col(3))) + ((col(4) + col(5)) + (col(6) + col(7))) + col(8);
  return torch::where(n >= 8, tree, sequential);
}

}  // namespace

torch::Tensor ArgmaxBins(const torch::Tensor& activations, const BinRange& range) {
  // torch's argmax returns the first of equal maxima, as numpy's does.
  return activations.narrow(1, range.lo, range.size()).argmax(1) + range.lo;
}

// The window [max(lo, b - 4), min(hi, b + 4)], left-aligned in 9 columns, zeros past its end.
torch::Tensor LocalAverageCentsAtBins(const torch::Tensor& activations, const torch::Tensor& bins,
                                      const torch::Tensor& lo, const torch::Tensor& hi) {
  const torch::Tensor first = torch::maximum(bins - 4, lo);
  const torch::Tensor count = torch::minimum(bins + 4, hi) - first + 1;  // 1..9
  const torch::Tensor column = torch::arange(9, bins.options()).unsqueeze(0);
  const torch::Tensor valid = column < count.unsqueeze(1);
  const torch::Tensor index = (first.unsqueeze(1) + column).clamp_max(kPitchBins - 1);
  const torch::Tensor weights = activations.gather(1, index).masked_fill(~valid, 0.0f);  // float32, as np.sum
  const torch::Tensor products =
      (weights.to(torch::kFloat64) *
       BinCentsTable(activations.device()).index_select(0, index.reshape({-1})).reshape(index.sizes()))
          .masked_fill(~valid, 0.0);
  const torch::Tensor weight_sum = NumpySumOf9(weights, count).to(torch::kFloat64);
  const torch::Tensor cents = NumpySumOf9(products, count) / weight_sum;
  return torch::where(weight_sum == 0, torch::full_like(cents, std::numeric_limits<double>::quiet_NaN()), cents);
}

torch::Tensor FrequencyAtBins(const torch::Tensor& activations, const torch::Tensor& bins, Decoder decoder,
                              const BinRange& range) {
  const torch::Device device = activations.device();
  if (decoder == Decoder::kArgmax) return BinHzTable(device).index_select(0, bins);
  // 0-d host tensors act as scalars on any device (no upload).
  const torch::Tensor cents = LocalAverageCentsAtBins(activations, bins, torch::scalar_tensor(range.lo, torch::kInt64),
                                                      torch::scalar_tensor(range.hi, torch::kInt64));
  return (10.0 * torch::pow(2.0, cents / 1200.0)).to(torch::kFloat32);  // NaN stays NaN
}

torch::Tensor SummarizeRows(const torch::Tensor& activations, const torch::Tensor& lo, const torch::Tensor& hi) {
  const torch::Tensor column = torch::arange(kPitchBins, lo.options()).unsqueeze(0);
  const torch::Tensor outside = (column < lo.unsqueeze(1)) | (column > hi.unsqueeze(1));
  // torch's argmax returns the first of equal maxima, as ArgmaxBin does.
  const torch::Tensor bins = activations.masked_fill(outside, -std::numeric_limits<float>::infinity()).argmax(1);
  const torch::Tensor at_bin = activations.gather(1, bins.unsqueeze(1)).squeeze(1);
  return torch::stack(
      {bins.to(torch::kFloat64), at_bin.to(torch::kFloat64), std::get<0>(activations.max(1)).to(torch::kFloat64),
       LocalAverageCentsAtBins(activations, bins, lo, hi)},
      1);
}

ViterbiForward::ViterbiForward(const BinRange& range, const torch::Device& device) : states_(range.size()) {
  constexpr int kBand = 2 * kViterbiBandHalfWidth + 1;
  // step[k][j]: log probability of moving from state k + j - 11 to state k (-inf outside).
  const std::vector<double> log_trans = ViterbiLogTransitions(states_);
  std::vector<double> step(static_cast<size_t>(states_) * kBand, kNegInf);
  for (int k = 0; k < states_; ++k) {
    for (int j = 0; j < kBand; ++j) {
      const int i = k + j - kViterbiBandHalfWidth;
      if (i >= 0 && i < states_)
        step[static_cast<size_t>(k) * kBand + j] = log_trans[static_cast<size_t>(i) * states_ + k];
    }
  }
  // Candidates are examined from the largest predecessor down, so that argmax's first maximum is
  // the largest predecessor among equals, as in ViterbiDecoder (and hmmlearn).
  transition_ = torch::tensor(step, torch::kFloat64).reshape({states_, kBand}).flip(1).to(device).unsqueeze(0);
}

std::pair<torch::Tensor, torch::Tensor> ViterbiForward::Step(const torch::Tensor& score) const {
  constexpr int kBand = 2 * kViterbiBandHalfWidth + 1;
  // candidates[b][k][j'] = score[b][k + 11 - j'] (j' counts predecessors from the largest down).
  const torch::Tensor padded = torch::constant_pad_nd(score, {kViterbiBandHalfWidth, kViterbiBandHalfWidth}, kNegInf);
  const torch::Tensor candidates = padded.unfold(1, kBand, 1).flip(2) + transition_;
  auto [best, arg] = candidates.max(2);
  return {best, (kViterbiBandHalfWidth - arg).to(torch::kInt8)};
}

torch::Tensor ViterbiForward::Emission(const torch::Tensor& observed, const torch::Tensor& hit,
                                       const torch::Tensor& miss) const {
  torch::Tensor e = miss.unsqueeze(1).expand({miss.size(0), states_}).contiguous();
  return e.scatter_(1, observed.unsqueeze(1), hit.unsqueeze(1));
}

torch::Tensor ViterbiPaths(const torch::Tensor& observed_bins, const torch::Tensor& emit_hit,
                           const torch::Tensor& emit_miss, const std::vector<int64_t>& lengths, const BinRange& range) {
  const torch::Device device = observed_bins.device();
  const int64_t batch = observed_bins.size(0), steps = observed_bins.size(1);
  const ViterbiForward forward(range, device);
  const torch::Tensor observed = observed_bins.clamp(range.lo, range.hi) - range.lo;  // (B, T)
  std::vector<int64_t> length_values(lengths.begin(), lengths.end());
  const torch::Tensor length = torch::tensor(length_values, torch::kInt64).to(device);
  auto emission = [&](int64_t t) {
    return forward.Emission(observed.select(1, t), emit_hit.select(1, t), emit_miss.select(1, t));
  };
  torch::Tensor score = emission(0) + std::log(1.0 / kPitchBins);
  // Best predecessor of each state as an offset in [-11, 11], per step (row 0 unused).
  torch::Tensor back =
      torch::zeros({steps, batch, forward.states()}, torch::TensorOptions().dtype(torch::kInt8).device(device));
  for (int64_t t = 1; t < steps; ++t) {
    const auto [best, offset] = forward.Step(score);
    const torch::Tensor active = (length > t).unsqueeze(1);  // sequences that have frame t
    score = torch::where(active, best + emission(t), score);
    back.select(0, t).copy_(torch::where(active, offset, torch::zeros_like(offset)));
  }
  // The last frame takes the first best state (past a sequence's end its score stood still).
  torch::Tensor state = score.argmax(1, /*keepdim=*/true);  // (B, 1)
  torch::Tensor path = torch::empty({batch, steps}, observed_bins.options());
  for (int64_t t = steps - 1; t >= 0; --t) {
    path.select(1, t).copy_(state.squeeze(1));
    if (t > 0) state = state + back.select(0, t).gather(1, state).to(torch::kInt64);
  }
  return path + range.lo;
}

}  // namespace crepe
