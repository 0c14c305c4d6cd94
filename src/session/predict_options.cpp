// Validation of PredictOptions, shared by every entry point (Predictor, PitchSession, the service).
#include "crepe/predict_options.h"

#include <cmath>
#include <string>

#include "crepe/decode.h"

namespace crepe {
namespace {

constexpr int64_t kMaxBatchFrames = 65536;

Status ValidateWindow(int window, const char* what) {
  if (window == 0) return Status::Ok();
  if (window < 0 || window % 2 == 0 || window > 10001) {
    return InvalidArgumentError(std::string(what) +
                                " window must be an odd number of frames between 1 and 10001 (got " +
                                std::to_string(window) + ")");
  }
  return Status::Ok();
}

Status ValidateProbability(const std::optional<float>& v, const char* what) {
  if (v && !(*v >= 0.0f && *v <= 1.0f)) {
    return InvalidArgumentError(std::string(what) + " must lie in [0, 1] (got " + std::to_string(*v) + ")");
  }
  return Status::Ok();
}

}  // namespace

Status ValidatePredictOptions(const PredictOptions& options) {
  CREPE_RETURN_IF_ERROR(BinRangeFor(options.fmin_hz, options.fmax_hz).status());
  if (!std::isfinite(options.hop.value) || options.hop.value <= 0) {
    return InvalidArgumentError("hop must be a positive, finite number (got " + std::to_string(options.hop.value) +
                                ")");
  }
  if (options.batch_frames < 1 || options.batch_frames > kMaxBatchFrames) {
    return InvalidArgumentError("batch must be between 1 and " + std::to_string(kMaxBatchFrames) + " frames (got " +
                                std::to_string(options.batch_frames) + ")");
  }
  CREPE_RETURN_IF_ERROR(ValidateWindow(options.post.periodicity_median_window, "periodicity median filter"));
  CREPE_RETURN_IF_ERROR(ValidateWindow(options.post.pitch_mean_window, "pitch mean filter"));
  CREPE_RETURN_IF_ERROR(ValidateProbability(options.post.threshold, "voicing threshold"));
  if (options.post.silence_db && !std::isfinite(*options.post.silence_db)) {
    return InvalidArgumentError("silence threshold must be a finite number of dB");
  }
  if (options.post.silence_reference_db && !std::isfinite(*options.post.silence_reference_db)) {
    return InvalidArgumentError("silence reference level must be a finite number of dB");
  }
  if (const auto& h = options.post.hysteresis) {
    if (!(h->lower >= 0 && h->lower <= h->upper && h->upper <= 1 && std::isfinite(h->width) && h->width >= 0 &&
          std::isfinite(h->stds) && h->stds >= 0)) {
      return InvalidArgumentError("hysteresis needs 0 <= lower <= upper <= 1 and non-negative width and stds");
    }
  }
  return Status::Ok();
}

}  // namespace crepe
