#include "model/device_decode.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "crepe/capacity.h"
#include "model/viterbi_step.h"
#ifdef CREPE_HAVE_VITERBI_KERNELS
#include <c10/cuda/CUDAStream.h>

#include "model/viterbi_kernels.h"
#endif

namespace crepe {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

#ifdef CREPE_HAVE_VITERBI_KERNELS
// The stream LibTorch's work on `device` goes to now (the model's own, under its StreamGuard).
void* CurrentCudaStream(const torch::Device& device) {
  return c10::cuda::getCurrentCUDAStream(device.index()).stream();
}
#endif

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

ViterbiForward::ViterbiForward(const BinRange& range, const torch::Device& device, ViterbiImpl impl)
    : lo_(range.lo), states_(range.size()), device_(device), impl_(impl) {
  constexpr int kBand = viterbi_step::kBand;
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
  // Candidates are examined from the largest predecessor down, so that the first maximum is the
  // largest predecessor among equals, as in ViterbiDecoder (and hmmlearn).
  transition_ = torch::tensor(step, torch::kFloat64).reshape({states_, kBand}).flip(1).contiguous().to(device);
}

bool ViterbiForward::UseKernels() const {
#ifdef CREPE_HAVE_VITERBI_KERNELS
  return impl_ == ViterbiImpl::kAuto && device_.is_cuda();
#else
  return false;
#endif
}

std::pair<torch::Tensor, torch::Tensor> ViterbiForward::Run(const torch::Tensor& score, const torch::Tensor& observed,
                                                            const torch::Tensor& hit, const torch::Tensor& miss,
                                                            const torch::Tensor& length,
                                                            const torch::Tensor& fresh) const {
  torch::Tensor out = score.to(torch::kFloat64).contiguous().clone();
  if (impl_ == ViterbiImpl::kAuto && device_.is_cpu()) return RunOnHost(out, observed, hit, miss, length, fresh);
#ifdef CREPE_HAVE_VITERBI_KERNELS
  if (UseKernels()) {
    const int64_t n = observed.size(0), steps = observed.size(1);
    const torch::Tensor obs = observed.contiguous(), h = hit.contiguous(), m = miss.contiguous();
    const torch::Tensor len = length.contiguous(), start = fresh.contiguous();
    torch::Tensor back = torch::empty({n, steps, states_}, torch::TensorOptions().dtype(torch::kInt8).device(device_));
    const char* error = viterbi_kernels::Forward(
        transition_.data_ptr<double>(), states_, out.data_ptr<double>(), obs.data_ptr<int64_t>(), h.data_ptr<double>(),
        m.data_ptr<double>(), len.data_ptr<int64_t>(), start.data_ptr<bool>(), std::log(1.0 / kPitchBins),
        back.data_ptr<int8_t>(), n, steps, CurrentCudaStream(device_));
    if (error != nullptr) throw std::runtime_error(std::string("the Viterbi kernel failed to launch: ") + error);
    return {out, back};
  }
#endif
  return RunTensorOps(out, observed, hit, miss, length, fresh);
}

// The kernels' loops on the host, with their per-state arithmetic (viterbi_step.h).
std::pair<torch::Tensor, torch::Tensor> ViterbiForward::RunOnHost(torch::Tensor score, const torch::Tensor& observed,
                                                                  const torch::Tensor& hit, const torch::Tensor& miss,
                                                                  const torch::Tensor& length,
                                                                  const torch::Tensor& fresh) const {
  const int64_t n = observed.size(0), steps = observed.size(1);
  const torch::Tensor obs = observed.contiguous(), h = hit.contiguous(), m = miss.contiguous();
  const torch::Tensor len = length.contiguous(), start = fresh.contiguous();
  torch::Tensor back = torch::zeros({n, steps, states_}, torch::kInt8);
  const double* transition = transition_.data_ptr<double>();
  const double log_start = std::log(1.0 / kPitchBins);
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> previous(static_cast<size_t>(states_)), current(static_cast<size_t>(states_));
    for (int64_t b = begin; b < end; ++b) {
      double* my_score = score.data_ptr<double>() + b * states_;
      std::copy(my_score, my_score + states_, previous.begin());
      const int64_t frames = len.data_ptr<int64_t>()[b];
      for (int64_t t = 0; t < frames; ++t) {
        const int64_t at = b * steps + t;
        const int64_t o = obs.data_ptr<int64_t>()[at];
        const double hit_at = h.data_ptr<double>()[at], miss_at = m.data_ptr<double>()[at];
        int8_t* row = back.data_ptr<int8_t>() + at * states_;
        const bool first = t == 0 && start.data_ptr<bool>()[b];
        for (int k = 0; k < states_; ++k) {
          const double e = viterbi_step::Emission(k, o, hit_at, miss_at);
          current[static_cast<size_t>(k)] =
              first ? viterbi_step::StartState(log_start, e)
                    : viterbi_step::ForwardState(previous.data(),
                                                 transition + static_cast<int64_t>(k) * viterbi_step::kBand, states_, k,
                                                 e, row + k);
        }
        previous.swap(current);
      }
      std::copy(previous.begin(), previous.end(), my_score);
    }
  });
  return {score, back};
}

// One set of tensor operations per frame, for all sequences at once.
std::pair<torch::Tensor, torch::Tensor> ViterbiForward::RunTensorOps(torch::Tensor score, const torch::Tensor& observed,
                                                                     const torch::Tensor& hit,
                                                                     const torch::Tensor& miss,
                                                                     const torch::Tensor& length,
                                                                     const torch::Tensor& fresh) const {
  constexpr int kBand = viterbi_step::kBand;
  const int64_t n = observed.size(0), steps = observed.size(1);
  const torch::Tensor transition = transition_.unsqueeze(0);
  const torch::Tensor active_until = length.unsqueeze(1);
  const torch::Tensor starts = fresh.unsqueeze(1);
  const double log_start = std::log(1.0 / kPitchBins);
  torch::Tensor back = torch::empty({steps, n, states_}, torch::TensorOptions().dtype(torch::kInt8).device(device_));
  for (int64_t t = 0; t < steps; ++t) {
    torch::Tensor e = miss.select(1, t).unsqueeze(1).expand({n, states_}).contiguous();
    e.scatter_(1, observed.select(1, t).unsqueeze(1), hit.select(1, t).unsqueeze(1));
    // candidates[b][k][j'] = score[b][k + 11 - j'] (j' counts predecessors from the largest down).
    const torch::Tensor padded = torch::constant_pad_nd(score, {kViterbiBandHalfWidth, kViterbiBandHalfWidth}, kNegInf);
    const auto [best, arg] = (padded.unfold(1, kBand, 1).flip(2) + transition).max(2);
    torch::Tensor next = best + e;
    if (t == 0) next = torch::where(starts, e + log_start, next);  // a fresh sequence's first frame
    score = torch::where(active_until > t, next, score);
    back.select(0, t).copy_(kViterbiBandHalfWidth - arg);
  }
  return {score, back.permute({1, 0, 2}).contiguous()};
}

torch::Tensor ViterbiForward::Backtrack(const torch::Tensor& back, const torch::Tensor& score,
                                        const torch::Tensor& length) const {
  const int64_t n = back.size(0), steps = back.size(1);
  // The last frame takes the first best state, as hmmlearn (and ViterbiDecoder) do.
  const torch::Tensor last = score.argmax(1).contiguous();
  const torch::Tensor len = length.contiguous();
  torch::Tensor path = torch::zeros({n, steps}, torch::TensorOptions().dtype(torch::kInt64).device(device_));
  if (impl_ == ViterbiImpl::kAuto && device_.is_cpu()) {
    const torch::Tensor b8 = back.contiguous();
    for (int64_t b = 0; b < n; ++b) {
      int64_t state = last.data_ptr<int64_t>()[b];
      for (int64_t t = len.data_ptr<int64_t>()[b] - 1; t >= 0; --t) {
        path.data_ptr<int64_t>()[b * steps + t] = state + lo_;
        if (t > 0) state += b8.data_ptr<int8_t>()[(b * steps + t) * states_ + state];
      }
    }
    return path;
  }
#ifdef CREPE_HAVE_VITERBI_KERNELS
  if (UseKernels()) {
    const torch::Tensor b8 = back.contiguous();
    const char* error =
        viterbi_kernels::Backtrack(b8.data_ptr<int8_t>(), states_, last.data_ptr<int64_t>(), len.data_ptr<int64_t>(),
                                   path.data_ptr<int64_t>(), n, steps, lo_, CurrentCudaStream(device_));
    if (error != nullptr) throw std::runtime_error(std::string("the Viterbi backtrack failed to launch: ") + error);
    return path;
  }
#endif
  torch::Tensor state = last.unsqueeze(1);  // (n, 1)
  const torch::Tensor length_col = len.unsqueeze(1);
  for (int64_t t = steps - 1; t >= 0; --t) {
    path.select(1, t).copy_(state.squeeze(1) + lo_);
    if (t == 0) break;
    // Past a sequence's end its state stands still.
    const torch::Tensor step = back.select(1, t).gather(1, state).to(torch::kInt64);
    state = torch::where(length_col > t, state + step, state);
  }
  return path;
}

torch::Tensor ViterbiPaths(const torch::Tensor& observed_bins, const torch::Tensor& emit_hit,
                           const torch::Tensor& emit_miss, const std::vector<int64_t>& lengths, const BinRange& range,
                           ViterbiImpl impl) {
  const torch::Device device = observed_bins.device();
  const int64_t batch = observed_bins.size(0);
  const ViterbiForward forward(range, device, impl);
  std::vector<int64_t> length_values(lengths.begin(), lengths.end());
  const torch::Tensor length = torch::tensor(length_values, torch::kInt64).to(device);
  const torch::Tensor fresh = torch::ones({batch}, torch::TensorOptions().dtype(torch::kBool).device(device));
  const torch::Tensor score =
      torch::zeros({batch, forward.states()}, torch::TensorOptions().dtype(torch::kFloat64).device(device));
  const auto [last, back] =
      forward.Run(score, observed_bins.clamp(range.lo, range.hi) - range.lo, emit_hit, emit_miss, length, fresh);
  return forward.Backtrack(back, last, length);
}

}  // namespace crepe
