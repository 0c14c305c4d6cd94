// NaN-aware moving median and mean (torchcrepe's filter.median and filter.mean).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "common/guard.h"
#include "crepe/postprocess.h"

namespace crepe {
namespace {

Status CheckWindow(int window) {
  if (window < 1 || window % 2 == 0) {
    return InvalidArgumentError("filter window must be an odd number >= 1 (got " + std::to_string(window) + ")");
  }
  return Status::Ok();
}

}  // namespace

// torchcrepe reflect-pads the values but zero-pads the validity mask, so padded positions never
// count and the result is the lower median of the valid values in the window truncated to
// [t - w/2, t + w/2]. We compute exactly that, which also covers inputs shorter than w/2 + 1
// (where torchcrepe's reflect padding raises). Unlike torchcrepe, a genuine +inf input is an
// ordinary value (torchcrepe turns a +inf median into NaN).
namespace {

Result<std::vector<float>> MedianFilterImpl(const std::vector<float>& x, int window) {
  CREPE_RETURN_IF_ERROR(CheckWindow(window));
  const auto n = static_cast<int64_t>(x.size());
  const int64_t half = window / 2;
  std::vector<float> out(x.size());
  std::vector<float> valid;
  valid.reserve(static_cast<size_t>(window));
  for (int64_t t = 0; t < n; ++t) {
    valid.clear();
    const int64_t lo = std::max<int64_t>(0, t - half);
    const int64_t hi = std::min<int64_t>(n, t + half + 1);
    for (int64_t i = lo; i < hi; ++i) {
      if (!std::isnan(x[i])) valid.push_back(x[i]);
    }
    if (valid.empty()) {
      out[t] = std::numeric_limits<float>::quiet_NaN();
      continue;
    }
    const auto k = static_cast<std::ptrdiff_t>((valid.size() - 1) / 2);  // lower median
    std::nth_element(valid.begin(), valid.begin() + k, valid.end());
    out[t] = valid[k];
  }
  return out;
}

}  // namespace

Result<std::vector<float>> MedianFilter(const std::vector<float>& x, int window) {
  return internal::WithoutAllocationExceptions("the median filter", [&] { return MedianFilterImpl(x, window); });
}

// Edge windows are truncated and only non-NaN values count, as in torchcrepe. torchcrepe then
// turns every result that is exactly 0 into NaN, which is meant for windows without a valid
// value but also erases genuine zero means; here only a window with no valid value gives NaN.
// Each window is summed directly in double (O(T * w)): running or prefix sums would lose
// precision to cancellation when large values pass through the window.
namespace {

Result<std::vector<float>> MeanFilterImpl(const std::vector<float>& x, int window) {
  CREPE_RETURN_IF_ERROR(CheckWindow(window));
  const auto n = static_cast<int64_t>(x.size());
  const int64_t half = window / 2;
  std::vector<float> out(x.size());
  for (int64_t t = 0; t < n; ++t) {
    const int64_t lo = std::max<int64_t>(0, t - half);
    const int64_t hi = std::min<int64_t>(n, t + half + 1);
    double sum = 0.0;
    int64_t count = 0;
    for (int64_t i = lo; i < hi; ++i) {
      if (std::isnan(x[i])) continue;
      sum += x[i];
      ++count;
    }
    out[t] =
        count == 0 ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(sum / static_cast<double>(count));
  }
  return out;
}

}  // namespace

Result<std::vector<float>> MeanFilter(const std::vector<float>& x, int window) {
  return internal::WithoutAllocationExceptions("the mean filter", [&] { return MeanFilterImpl(x, window); });
}

}  // namespace crepe
