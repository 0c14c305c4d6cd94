// A small radix-2 FFT for real input, used by the loudness computation. Internal to crepe_base.
#pragma once

#include <complex>
#include <vector>

namespace crepe::internal {

// Forward DFT of a real sequence of power-of-two length n >= 2, computed in double precision:
// X[k] = sum_j x[j] exp(-2 pi i j k / n) for k = 0 .. n/2 (the non-negative frequencies).
// Internally an n/2-point complex FFT of the even/odd-interleaved input plus a split step.
// Immutable after construction, so one instance may be shared between threads.
class RealFft {
 public:
  explicit RealFft(int n);

  int size() const { return n_; }
  int num_bins() const { return n_ / 2 + 1; }

  // in: n values; out: n/2 + 1 values.
  void Forward(const double* in, std::complex<double>* out) const;

 private:
  int n_;
  int half_;
  std::vector<int> bit_reverse_;               // permutation for the n/2-point complex FFT
  std::vector<std::complex<double>> twiddle_;  // exp(-2 pi i j / (n/2)), j < n/4 (at least 1)
  std::vector<std::complex<double>> split_;    // exp(-2 pi i k / n), k <= n/2
};

}  // namespace crepe::internal
