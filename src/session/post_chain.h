// The post-processing chain of PostProcessOptions, shared by the one-shot Predictor and the
// incremental PitchSession so that both apply exactly the same steps in the same order.
#pragma once

#include <cstdint>
#include <vector>

#include "crepe/predict_options.h"
#include "crepe/status.h"

namespace crepe::internal {

// Silence gate, periodicity median, voicing threshold or hysteresis, pitch mean, in that order.
// `loudness_db` holds one value per frame when post.silence_db is set (ignored otherwise).
Status ApplyPostProcessing(const PostProcessOptions& post, const std::vector<float>& loudness_db,
                           std::vector<float>& frequency, std::vector<float>& periodicity);

// How many frames on either side a frame's post-processed values depend on (the filters'
// half-windows add up), or -1 when they depend on the whole clip (hysteresis normalises by the
// clip's voiced pitch; a silence gate without a fixed reference uses the clip's loudest bin).
int64_t PostProcessingReach(const PostProcessOptions& post);

}  // namespace crepe::internal
