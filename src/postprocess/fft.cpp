#include "postprocess/fft.h"

#include <cassert>
#include <cmath>
#include <cstdint>

namespace crepe::internal {
namespace {

constexpr double kPi = 3.14159265358979323846;

std::complex<double> UnitRoot(int64_t numerator, int64_t denominator) {
  // exp(-2 pi i numerator / denominator), with the angle reduced first for accuracy.
  const double angle = -2.0 * kPi * static_cast<double>(numerator % denominator) / static_cast<double>(denominator);
  return {std::cos(angle), std::sin(angle)};
}

}  // namespace

RealFft::RealFft(int n) : n_(n), half_(n / 2) {
  assert(n >= 2 && (n & (n - 1)) == 0);
  bit_reverse_.resize(half_);
  int bits = 0;
  while ((1 << bits) < half_) ++bits;
  for (int i = 0; i < half_; ++i) {
    int r = 0;
    for (int b = 0; b < bits; ++b) r |= ((i >> b) & 1) << (bits - 1 - b);
    bit_reverse_[i] = r;
  }
  twiddle_.resize(half_ / 2 > 0 ? half_ / 2 : 1);
  for (int j = 0; j < static_cast<int>(twiddle_.size()); ++j) twiddle_[j] = UnitRoot(j, half_);
  split_.resize(half_ + 1);
  for (int k = 0; k <= half_; ++k) split_[k] = UnitRoot(k, n_);
}

void RealFft::Forward(const double* in, std::complex<double>* out) const {
  const int m = half_;
  // z[j] = x[2j] + i x[2j+1], stored in bit-reversed order, then an in-place radix-2 FFT.
  std::vector<std::complex<double>> z(m);
  for (int j = 0; j < m; ++j) z[bit_reverse_[j]] = {in[2 * j], in[2 * j + 1]};
  for (int len = 2; len <= m; len <<= 1) {
    const int step = m / len;
    for (int start = 0; start < m; start += len) {
      for (int j = 0; j < len / 2; ++j) {
        const std::complex<double> t = twiddle_[j * step] * z[start + j + len / 2];
        z[start + j + len / 2] = z[start + j] - t;
        z[start + j] += t;
      }
    }
  }
  // Split: E[k] = (Z[k] + conj(Z[m-k])) / 2 is the DFT of the even samples, O[k] =
  // (Z[k] - conj(Z[m-k])) / 2i that of the odd ones, and X[k] = E[k] + exp(-2 pi i k / n) O[k].
  for (int k = 0; k <= m; ++k) {
    const std::complex<double> a = z[k % m];
    const std::complex<double> b = std::conj(z[(m - k) % m]);
    const std::complex<double> even = 0.5 * (a + b);
    const std::complex<double> odd = std::complex<double>(0.0, -0.5) * (a - b);
    out[k] = even + split_[k] * odd;
  }
}

}  // namespace crepe::internal
