// The libsoxr resampler (very high quality), for users who prefer it to resampy's kaiser_best.

#include <soxr.h>

#include <algorithm>
#include <cstdint>
#include <new>
#include <string>
#include <vector>

#include "audio/resample_internal.h"

namespace crepe::audio_internal {

Result<std::vector<float>> ResampleSoxrVhq(const float* x, int64_t n, int sr_orig, int sr_new, int64_t out_len) {
  if (sr_orig <= 0 || sr_new <= 0) {
    return InvalidArgumentError("invalid sample rates " + std::to_string(sr_orig) + " -> " + std::to_string(sr_new));
  }
  if (n < 0 || out_len < 0 || (n > 0 && x == nullptr)) return InvalidArgumentError("invalid input signal");
  try {
    std::vector<float> y(static_cast<size_t>(out_len), 0.0f);
    if (n == 0 || out_len == 0) return y;
    const soxr_io_spec_t io_spec = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    const soxr_quality_spec_t quality_spec = soxr_quality_spec(SOXR_VHQ, 0);
    size_t done = 0;
    const soxr_error_t error =
        soxr_oneshot(static_cast<double>(sr_orig), static_cast<double>(sr_new), 1, x, static_cast<size_t>(n), nullptr,
                     y.data(), y.size(), &done, &io_spec, &quality_spec, nullptr);
    if (error != nullptr) return InternalError(std::string("libsoxr failed: ") + error);
    // soxr's own length is round(n * ratio); any shortfall stays zero (the buffer holds exactly
    // out_len samples, so any excess is never written).
    std::fill(y.begin() + static_cast<std::ptrdiff_t>(std::min(done, y.size())), y.end(), 0.0f);
    return y;
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory resampling " + std::to_string(n) + " samples");
  }
}

}  // namespace crepe::audio_internal
