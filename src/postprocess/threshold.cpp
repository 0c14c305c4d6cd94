// Voicing thresholds and the silence gate (torchcrepe's threshold.At, threshold.Hysteresis and
// threshold.Silence).

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "common/guard.h"
#include "crepe/postprocess.h"

namespace crepe {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

Status CheckSameSize(size_t a, size_t b, const char* what) {
  if (a != b) {
    return InvalidArgumentError(std::string(what) + ": sizes differ (" + std::to_string(a) + " vs " +
                                std::to_string(b) + ")");
  }
  return Status::Ok();
}

// torchcrepe's bounds are Python floats (doubles) and numpy rounds each constant expression to
// float32 only where it meets a float32 array. Our options are floats, so for the one constant
// computed in double (width * stds**2) we take the double the caller most plausibly wrote: the
// shortest decimal that rounds to the float (0.2f -> 0.2). With the defaults this gives exactly
// torchcrepe's float32(0.578) rather than the neighbouring float32(0.2f * 1.7f * 1.7f).
double AsWritten(float f) {
  char buf[64];
  const auto end = std::to_chars(buf, buf + sizeof(buf), f).ptr;
  double d = f;
  std::from_chars(buf, end, d);
  return d;
}

}  // namespace

namespace {

Result<std::vector<float>> ApplyThresholdImpl(const std::vector<float>& pitch, const std::vector<float>& periodicity,
                                              float threshold) {
  CREPE_RETURN_IF_ERROR(CheckSameSize(pitch.size(), periodicity.size(), "ApplyThreshold"));
  if (!std::isfinite(threshold)) return InvalidArgumentError("ApplyThreshold: threshold must be finite");
  std::vector<float> out = pitch;
  for (size_t t = 0; t < out.size(); ++t) {
    if (periodicity[t] < threshold) out[t] = kNaN;
  }
  return out;
}

}  // namespace

Result<std::vector<float>> ApplyThreshold(const std::vector<float>& pitch, const std::vector<float>& periodicity,
                                          float threshold) {
  return internal::WithoutAllocationExceptions("the voicing threshold",
                                               [&] { return ApplyThresholdImpl(pitch, periodicity, threshold); });
}

// torchcrepe's Hysteresis on one sequence, with its float32 arithmetic. The decisions (which
// frames are unvoiced) follow torchcrepe exactly; the one difference is what a kept frame
// holds: torchcrepe returns 2**(((log2(pitch) - mean) / std) * std + mean), a float32 round
// trip that perturbs every value by about 1e-7 relative and turns the whole output into NaN
// when std is 0 or NaN (e.g. a single voiced frame); we return the input pitch unchanged.
// numpy's nanmean/nanstd sum float32 pairwise; we sum in double and round to float32, which
// can differ from numpy in the last bit of mean and std.
namespace {

Result<std::vector<float>> ApplyHysteresisImpl(const std::vector<float>& pitch, const std::vector<float>& periodicity,
                                               const HysteresisOptions& options) {
  CREPE_RETURN_IF_ERROR(CheckSameSize(pitch.size(), periodicity.size(), "ApplyHysteresis"));
  if (!std::isfinite(options.lower) || !std::isfinite(options.upper) || !std::isfinite(options.width) ||
      !std::isfinite(options.stds)) {
    return InvalidArgumentError("ApplyHysteresis: lower, upper, width and stds must be finite");
  }
  const size_t n = pitch.size();
  const float lower = options.lower;
  const float upper = options.upper;

  // 1. Log pitch, NaN below the lower bound.
  std::vector<float> p(n);
  for (size_t t = 0; t < n; ++t) p[t] = periodicity[t] < lower ? kNaN : std::log2(pitch[t]);

  // 2. Standardise with the NaN-aware mean and population std (float32 results).
  double sum = 0.0;
  int64_t count = 0;
  for (float v : p) {
    if (std::isnan(v)) continue;
    sum += v;
    ++count;
  }
  float mean = kNaN;
  float std_dev = kNaN;
  if (count > 0) {
    mean = static_cast<float>(static_cast<double>(static_cast<float>(sum)) / static_cast<double>(count));
    double sq = 0.0;
    for (float v : p) {
      if (std::isnan(v)) continue;
      const float d = v - mean;
      sq += static_cast<double>(d * d);
    }
    const auto var = static_cast<float>(static_cast<double>(static_cast<float>(sq)) / static_cast<double>(count));
    std_dev = std::sqrt(var);
  }

  // 3. Parabolic threshold, lower where undefined.
  const auto width_stds2 = static_cast<float>(AsWritten(options.width) * std::pow(AsWritten(options.stds), 2.0));
  const auto clip_max = static_cast<float>(1.0 - AsWritten(lower));
  std::vector<float> threshold(n);
  for (size_t t = 0; t < n; ++t) {
    const float z = (p[t] - mean) / std_dev;
    const float parabola = options.width * (z * z) - width_stds2;
    threshold[t] = std::isnan(parabola) ? lower : lower + std::min(std::max(parabola, 0.0f), clip_max);
  }

  // 4. Drop every region that rises above the threshold but never above the upper bound.
  size_t i = 0;
  while (n > 0 && i < n - 1) {
    if (periodicity[i] < threshold[i] && periodicity[i + 1] > threshold[i + 1]) {
      const size_t start = i + 1;
      size_t end = i + 1;
      bool keep = false;
      while (end < n && periodicity[end] > threshold[end]) {
        if (periodicity[end] > upper) keep = true;
        ++end;
      }
      if (!keep) {
        std::fill(threshold.begin() + static_cast<std::ptrdiff_t>(start),
                  threshold.begin() + static_cast<std::ptrdiff_t>(end), 1.0f);
      }
      i = end;
    } else {
      ++i;
    }
  }

  // 5. Unvoiced where below the (final) threshold.
  std::vector<float> out(n);
  for (size_t t = 0; t < n; ++t) out[t] = periodicity[t] < threshold[t] ? kNaN : pitch[t];
  return out;
}

}  // namespace

Result<std::vector<float>> ApplyHysteresis(const std::vector<float>& pitch, const std::vector<float>& periodicity,
                                           const HysteresisOptions& options) {
  return internal::WithoutAllocationExceptions("the hysteresis threshold",
                                               [&] { return ApplyHysteresisImpl(pitch, periodicity, options); });
}

Status ApplySilenceGate(std::vector<float>& periodicity, const std::vector<float>& loudness_db, float threshold_db) {
  CREPE_RETURN_IF_ERROR(CheckSameSize(periodicity.size(), loudness_db.size(), "ApplySilenceGate"));
  if (std::isnan(threshold_db)) return InvalidArgumentError("ApplySilenceGate: threshold must not be NaN");
  for (size_t t = 0; t < periodicity.size(); ++t) {
    if (loudness_db[t] < threshold_db) periodicity[t] = 0.0f;
  }
  return Status::Ok();
}

}  // namespace crepe
