#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "crepe/audio.h"
#include "crepe/capacity.h"
#include "crepe/frames.h"

namespace crepe {
namespace {

// Hop in 16 kHz samples. A hop in samples at the caller's rate is converted exactly where it can
// be (441 samples at 44.1 kHz is exactly 160), never truncated: torchcrepe's int() truncation
// turns 10 ms at 22.05 kHz into 159 samples and makes frame times drift.
Result<double> HopIn16k(const HopSpec& hop, int input_sample_rate) {
  if (!std::isfinite(hop.value) || hop.value <= 0) {
    std::ostringstream m;
    m << "hop must be a positive, finite number (got " << hop.value << ")";
    return InvalidArgumentError(m.str());
  }
  double hop16 = 0;
  if (hop.unit == HopSpec::Unit::kMilliseconds) {
    hop16 = hop.value * kSampleRate / 1000.0;
  } else {
    if (input_sample_rate < kMinSampleRate || input_sample_rate > kMaxSampleRate) {
      return InvalidArgumentError("sample rate " + std::to_string(input_sample_rate) + " Hz is outside [" +
                                  std::to_string(kMinSampleRate) + ", " + std::to_string(kMaxSampleRate) + "]");
    }
    hop16 = hop.value * kSampleRate / input_sample_rate;
  }
  // Below one 16 kHz sample frames would repeat; above ten seconds the grid is meaningless.
  if (hop16 < 1.0 || hop16 > 10.0 * kSampleRate) {
    std::ostringstream m;
    m << "hop of " << hop.value << (hop.unit == HopSpec::Unit::kMilliseconds ? " ms" : " samples") << " is " << hop16
      << " samples at 16 kHz; it must lie between 1 sample and 10 s";
    return InvalidArgumentError(m.str());
  }
  return hop16;
}

}  // namespace

Result<FrameGrid> FrameGrid::Make(int64_t num_samples_16k, int input_sample_rate, const HopSpec& hop, bool center) {
  if (num_samples_16k <= 0) return InvalidArgumentError("audio is empty (no samples after resampling to 16 kHz)");
  CREPE_ASSIGN_OR_RETURN(double hop16, HopIn16k(hop, input_sample_rate));
  FrameGrid g;
  g.num_samples_16k_ = num_samples_16k;
  g.hop_16k_ = hop16;
  g.center_ = center;
  // Centred: frames centred on 0, hop, 2 hop, ... up to and including the last sample index
  // that is a whole number of hops (the original's 1 + N // hop). Uncentred: every window
  // that fits entirely inside the signal.
  const double span =
      center ? static_cast<double>(num_samples_16k) : static_cast<double>(num_samples_16k - kFrameLength);
  if (span < 0) {
    return InvalidArgumentError("audio is " + std::to_string(num_samples_16k) +
                                " samples at 16 kHz, shorter than one 1024-sample window, and centre padding is off");
  }
  // The small tolerance keeps an exact multiple (e.g. 160000 / 160) from being lost to rounding.
  g.num_frames_ = 1 + static_cast<int64_t>(std::floor(span / hop16 + 1e-9));
  return g;
}

int64_t FrameGrid::Start(int64_t t) const {
  const auto offset = static_cast<int64_t>(std::llround(static_cast<double>(t) * hop_16k_));
  return center_ ? offset - kFrameLength / 2 : offset;
}

double FrameGrid::Time(int64_t t) const { return static_cast<double>(Start(t) + kFrameLength / 2) / kSampleRate; }

void ExtractSpan(const float* audio16k, int64_t n, int64_t start, int64_t length, float* out) {
  for (int64_t i = 0; i < length; ++i) {
    const int64_t s = start + i;
    out[i] = (s >= 0 && s < n) ? audio16k[s] : 0.0f;
  }
}

void ExtractFrame(const float* audio16k, int64_t n, int64_t start, float* out) {
  ExtractSpan(audio16k, n, start, kFrameLength, out);
}

void NormaliseFrame(float* frame) {
  // numpy computes mean and (population) std of float32 data with float32 results; accumulating
  // in double and rounding once is at least as accurate and well inside the parity tolerance.
  double sum = 0;
  for (int i = 0; i < kFrameLength; ++i) sum += frame[i];
  const auto mean = static_cast<float>(sum / kFrameLength);
  double sq = 0;
  for (int i = 0; i < kFrameLength; ++i) {
    frame[i] -= mean;
    sq += static_cast<double>(frame[i]) * frame[i];
  }
  const float std_dev = std::max(static_cast<float>(std::sqrt(sq / kFrameLength)), 1e-8f);
  for (int i = 0; i < kFrameLength; ++i) frame[i] /= std_dev;
}

}  // namespace crepe
