#include "network_runner.h"

#include <vector>

#include "crepe/capacity.h"
#include "crepe/frames.h"

namespace crepe::server {

Status NetworkRunner::RunWindows(const float* samples, int64_t num_samples, const int64_t* starts, int64_t n,
                                 float* activations, float* embeddings, const SummaryRequest* summaries,
                                 const ViterbiRequest* viterbi) {
  std::vector<float> frames(static_cast<size_t>(n) * kFrameLength);
  for (int64_t i = 0; i < n; ++i) {
    ExtractFrame(samples, num_samples, starts[i], &frames[static_cast<size_t>(i) * kFrameLength]);
    NormaliseFrame(&frames[static_cast<size_t>(i) * kFrameLength]);
  }
  return Run(frames.data(), n, activations, embeddings, summaries, viterbi);
}

}  // namespace crepe::server
