// The internal real FFT used by the loudness computation, against a direct DFT.

#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <cstdint>
#include <random>
#include <vector>

#include "postprocess/fft.h"

namespace crepe::internal {
namespace {

constexpr double kPi = 3.14159265358979323846;

std::vector<std::complex<double>> NaiveDft(const std::vector<double>& x) {
  const auto n = static_cast<int>(x.size());
  std::vector<std::complex<double>> out(n / 2 + 1);
  for (int k = 0; k <= n / 2; ++k) {
    std::complex<double> acc = 0;
    for (int j = 0; j < n; ++j) {
      const double angle = -2.0 * kPi * static_cast<double>((static_cast<int64_t>(j) * k) % n) / n;
      acc += x[j] * std::complex<double>(std::cos(angle), std::sin(angle));
    }
    out[k] = acc;
  }
  return out;
}

TEST(RealFftTest, MatchesDirectDftForEveryPowerOfTwo) {
  std::mt19937 rng(7);
  std::normal_distribution<double> normal;
  for (int n = 2; n <= 2048; n *= 2) {
    std::vector<double> x(n);
    for (double& v : x) v = normal(rng);
    RealFft fft(n);
    ASSERT_EQ(fft.num_bins(), n / 2 + 1);
    std::vector<std::complex<double>> got(fft.num_bins());
    fft.Forward(x.data(), got.data());
    const auto want = NaiveDft(x);
    for (int k = 0; k <= n / 2; ++k) {
      EXPECT_NEAR(got[k].real(), want[k].real(), 1e-9 * n) << "n=" << n << " k=" << k;
      EXPECT_NEAR(got[k].imag(), want[k].imag(), 1e-9 * n) << "n=" << n << " k=" << k;
    }
  }
}

TEST(RealFftTest, PureCosineLandsInItsBin) {
  constexpr int kN = 1024;
  std::vector<double> x(kN);
  for (int j = 0; j < kN; ++j) x[j] = std::cos(2.0 * kPi * 37.0 * j / kN);
  RealFft fft(kN);
  std::vector<std::complex<double>> got(fft.num_bins());
  fft.Forward(x.data(), got.data());
  for (int k = 0; k <= kN / 2; ++k) {
    const double expected = k == 37 ? kN / 2.0 : 0.0;
    EXPECT_NEAR(std::abs(got[k]), expected, 1e-9) << "k=" << k;
  }
}

}  // namespace
}  // namespace crepe::internal
