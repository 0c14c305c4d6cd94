// Per-frame A-weighted loudness (torchcrepe's loudness.a_weighted).

#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <cstdint>
#include <vector>

#include "crepe/capacity.h"
#include "crepe/postprocess.h"
#include "postprocess/fft.h"

namespace crepe {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kNumBins = kFrameLength / 2 + 1;
constexpr double kMinDb = -100.0;        // torchcrepe's MIN_DB: floor of each weighted bin
constexpr double kRefDb = 20.0;          // torchcrepe's REF_DB: subtracted from the A-weighting
constexpr double kAWeightMinDb = -80.0;  // librosa.A_weighting's default min_db
constexpr double kAmin = 1e-10;          // librosa.amplitude_to_db's amin (1e-5) squared
constexpr double kTopDb = 80.0;          // librosa.amplitude_to_db's top_db

// librosa.A_weighting(f, min_db=-80) - REF_DB for each rfft bin frequency k * 16000 / 1024.
std::array<double, kNumBins> PerceptualWeights() {
  const double c0 = 12194.217 * 12194.217;
  const double c1 = 20.598997 * 20.598997;
  const double c2 = 107.65265 * 107.65265;
  const double c3 = 737.86223 * 737.86223;
  std::array<double, kNumBins> w{};
  for (int k = 0; k < kNumBins; ++k) {
    const double f = static_cast<double>(k) * kSampleRate / kFrameLength;
    double a = kAWeightMinDb;  // log10(0) = -inf at f = 0, clamped to min_db
    if (k > 0) {
      const double f2 = f * f;
      a = 2.0 + 20.0 * (std::log10(c0) + 2.0 * std::log10(f2) - std::log10(f2 + c0) - std::log10(f2 + c1) -
                        0.5 * std::log10(f2 + c2) - 0.5 * std::log10(f2 + c3));
      a = std::max(a, kAWeightMinDb);
    }
    w[k] = a - kRefDb;
  }
  return w;
}

// scipy.signal.get_window('hann', 1024, fftbins=True): the periodic Hann window.
std::array<double, kFrameLength> PeriodicHann() {
  std::array<double, kFrameLength> w{};
  for (int i = 0; i < kFrameLength; ++i) w[i] = 0.5 - 0.5 * std::cos(2.0 * kPi * i / kFrameLength);
  return w;
}

}  // namespace

// Two passes over the frames (the clip-wide reference first), so memory stays one frame's worth.
// Arithmetic is in double (torchcrepe: float64 FFT stored as complex64, float32 dB).
std::vector<float> AWeightedLoudness(const float* audio16k, int64_t n, const FrameGrid& grid,
                                     std::optional<double> reference_db) {
  static const std::array<double, kNumBins> kWeights = PerceptualWeights();
  static const std::array<double, kFrameLength> kWindow = PeriodicHann();
  static const internal::RealFft kFft(kFrameLength);

  std::vector<double> frame(kFrameLength);
  std::vector<std::complex<double>> spectrum(kNumBins);
  std::array<double, kNumBins> db{};
  auto spectrum_db = [&](int64_t t) {
    const int64_t start = grid.Start(t);
    for (int i = 0; i < kFrameLength; ++i) {
      const int64_t s = start + i;
      const double v = (audio16k != nullptr && s >= 0 && s < n) ? static_cast<double>(audio16k[s]) : 0.0;
      frame[i] = v * kWindow[i];
    }
    kFft.Forward(frame.data(), spectrum.data());
    for (int k = 0; k < kNumBins; ++k) db[k] = 10.0 * std::log10(std::max(kAmin, std::norm(spectrum[k])));
  };
  if (!reference_db) {
    double loudest = 10.0 * std::log10(kAmin);
    for (int64_t t = 0; t < grid.size(); ++t) {
      spectrum_db(t);
      loudest = std::max(loudest, *std::max_element(db.begin(), db.end()));
    }
    reference_db = loudest;
  }
  const double floor_db = *reference_db - kTopDb;

  std::vector<float> loudness(static_cast<size_t>(std::max<int64_t>(grid.size(), 0)));
  for (int64_t t = 0; t < grid.size(); ++t) {
    spectrum_db(t);
    double total = 0.0;
    for (int k = 0; k < kNumBins; ++k) total += std::max(std::max(db[k], floor_db) + kWeights[k], kMinDb);
    loudness[static_cast<size_t>(t)] = static_cast<float>(total / kNumBins);
  }
  return loudness;
}

}  // namespace crepe
