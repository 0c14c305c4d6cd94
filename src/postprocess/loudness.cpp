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

// The dB spectrum of one window (periodic Hann, 1024-point FFT), in double arithmetic
// (torchcrepe: float64 FFT stored as complex64, float32 dB).
class WindowSpectrum {
 public:
  const std::array<double, kNumBins>& Db(const float* window) {
    static const std::array<double, kFrameLength> kWindow = PeriodicHann();
    static const internal::RealFft kFft(kFrameLength);
    for (int i = 0; i < kFrameLength; ++i) frame_[i] = static_cast<double>(window[i]) * kWindow[i];
    kFft.Forward(frame_.data(), spectrum_.data());
    for (int k = 0; k < kNumBins; ++k) db_[k] = 10.0 * std::log10(std::max(kAmin, std::norm(spectrum_[k])));
    return db_;
  }

 private:
  std::vector<double> frame_ = std::vector<double>(kFrameLength);
  std::vector<std::complex<double>> spectrum_ = std::vector<std::complex<double>>(kNumBins);
  std::array<double, kNumBins> db_{};
};

float WeightedLoudness(const std::array<double, kNumBins>& db, double reference_db) {
  static const std::array<double, kNumBins> kWeights = PerceptualWeights();
  const double floor_db = reference_db - kTopDb;
  double total = 0.0;
  for (int k = 0; k < kNumBins; ++k) total += std::max(std::max(db[k], floor_db) + kWeights[k], kMinDb);
  return static_cast<float>(total / kNumBins);
}

}  // namespace

float AWeightedWindowLoudness(const float* window, double reference_db) {
  WindowSpectrum spectrum;
  return WeightedLoudness(spectrum.Db(window), reference_db);
}

// Two passes over the frames (the clip-wide reference first), so memory stays one frame's worth.
std::vector<float> AWeightedLoudness(const float* audio16k, int64_t n, const FrameGrid& grid,
                                     std::optional<double> reference_db) {
  std::vector<float> window(kFrameLength);
  WindowSpectrum spectrum;
  auto spectrum_db = [&](int64_t t) -> const std::array<double, kNumBins>& {
    ExtractFrame(audio16k, audio16k != nullptr ? n : 0, grid.Start(t), window.data());
    return spectrum.Db(window.data());
  };
  if (!reference_db) {
    double loudest = 10.0 * std::log10(kAmin);
    for (int64_t t = 0; t < grid.size(); ++t) {
      const auto& db = spectrum_db(t);
      loudest = std::max(loudest, *std::max_element(db.begin(), db.end()));
    }
    reference_db = loudest;
  }
  std::vector<float> loudness(static_cast<size_t>(std::max<int64_t>(grid.size(), 0)));
  for (int64_t t = 0; t < grid.size(); ++t)
    loudness[static_cast<size_t>(t)] = WeightedLoudness(spectrum_db(t), *reference_db);
  return loudness;
}

}  // namespace crepe
