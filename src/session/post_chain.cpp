#include "session/post_chain.h"

#include "crepe/postprocess.h"

namespace crepe::internal {

Status ApplyPostProcessing(const PostProcessOptions& post, const std::vector<float>& loudness_db,
                           std::vector<float>& frequency, std::vector<float>& periodicity) {
  if (post.silence_db) CREPE_RETURN_IF_ERROR(ApplySilenceGate(periodicity, loudness_db, *post.silence_db));
  if (post.periodicity_median_window > 0) {
    CREPE_ASSIGN_OR_RETURN(periodicity, MedianFilter(periodicity, post.periodicity_median_window));
  }
  if (post.hysteresis) {
    CREPE_ASSIGN_OR_RETURN(frequency, ApplyHysteresis(frequency, periodicity, *post.hysteresis));
  } else if (post.threshold) {
    CREPE_ASSIGN_OR_RETURN(frequency, ApplyThreshold(frequency, periodicity, *post.threshold));
  }
  if (post.pitch_mean_window > 0) {
    CREPE_ASSIGN_OR_RETURN(frequency, MeanFilter(frequency, post.pitch_mean_window));
  }
  return Status::Ok();
}

int64_t PostProcessingReach(const PostProcessOptions& post) {
  if (post.hysteresis || (post.silence_db && !post.silence_reference_db)) return -1;
  return post.periodicity_median_window / 2 + post.pitch_mean_window / 2;
}

}  // namespace crepe::internal
