// The arithmetic of one Viterbi forward step and one backtrack step, shared by the host loops
// (model/device_decode.cpp, on CPU tensors) and the CUDA kernels (model/viterbi_kernels.cu), so
// the code a GPU runs per state is the code the CPU tests run. The sums and the tie rule are
// ViterbiDecoder::Push's: score[i] + transition, the largest predecessor among equals, then the
// emission added.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define CREPE_HOST_DEVICE __host__ __device__
#else
#define CREPE_HOST_DEVICE
#endif

namespace crepe::viterbi_step {

inline constexpr int kBandHalfWidth = 11;  // kViterbiBandHalfWidth
inline constexpr int kBand = 2 * kBandHalfWidth + 1;

// State k's score after a step: `score` is the previous frame's (states values), `band` state k's
// 23 log transition probabilities from its largest predecessor (k + 11) down (-inf outside the
// band). Writes the best predecessor as an offset in [-11, 11].
CREPE_HOST_DEVICE inline double ForwardState(const double* score, const double* band, int states, int k,
                                             double emission, int8_t* offset) {
  double best = -INFINITY;
  int arg = 0;
  for (int j = 0; j < kBand; ++j) {
    const int i = k + kBandHalfWidth - j;
    if (i < 0 || i >= states) continue;
    const double v = score[i] + band[j];
    if (v > best) {  // the first of equals from the largest predecessor down: the largest
      best = v;
      arg = i - k;
    }
  }
  *offset = static_cast<int8_t>(arg);
  return best + emission;
}

// A sequence's first frame: no predecessor, the start probability instead.
CREPE_HOST_DEVICE inline double StartState(double log_start, double emission) { return emission + log_start; }

CREPE_HOST_DEVICE inline double Emission(int k, int64_t observed, double hit, double miss) {
  return k == observed ? hit : miss;
}

}  // namespace crepe::viterbi_step
