#include <cuda_runtime.h>

#include "model/viterbi_kernels.h"
#include "model/viterbi_step.h"

namespace crepe::viterbi_kernels {
namespace {

using viterbi_step::kBand;

// One block per sequence, its threads striding over the states; the scores of the previous and
// the current frame in shared memory.
__global__ void ForwardKernel(const double* transition, int states, double* score, const int64_t* observed,
                              const double* hit, const double* miss, const int64_t* length, const bool* fresh,
                              double log_start, int8_t* back, int64_t steps) {
  extern __shared__ double shared[];
  double* previous = shared;
  double* current = shared + states;
  const int64_t b = blockIdx.x;
  double* my_score = score + b * states;
  for (int k = threadIdx.x; k < states; k += blockDim.x) previous[k] = my_score[k];
  __syncthreads();
  const int64_t frames = length[b];
  for (int64_t t = 0; t < frames; ++t) {
    const int64_t at = b * steps + t;
    const int64_t obs = observed[at];
    int8_t* row = back + at * states;
    for (int k = threadIdx.x; k < states; k += blockDim.x) {
      const double e = viterbi_step::Emission(k, obs, hit[at], miss[at]);
      if (t == 0 && fresh[b]) {
        current[k] = viterbi_step::StartState(log_start, e);
        row[k] = 0;
      } else {
        current[k] =
            viterbi_step::ForwardState(previous, transition + static_cast<int64_t>(k) * kBand, states, k, e, row + k);
      }
    }
    __syncthreads();
    double* swap = previous;
    previous = current;
    current = swap;
  }
  for (int k = threadIdx.x; k < states; k += blockDim.x) my_score[k] = previous[k];
}

__global__ void BacktrackKernel(const int8_t* back, int states, const int64_t* last_state, const int64_t* length,
                                int64_t* path, int64_t n, int64_t steps, int lo) {
  const int64_t b = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (b >= n) return;
  int64_t state = last_state[b];
  for (int64_t t = length[b] - 1; t >= 0; --t) {
    path[b * steps + t] = state + lo;
    if (t > 0) state += back[(b * steps + t) * states + state];
  }
}

}  // namespace

const char* Forward(const double* transition, int states, double* score, const int64_t* observed, const double* hit,
                    const double* miss, const int64_t* length, const bool* fresh, double log_start, int8_t* back,
                    int64_t n, int64_t steps, void* stream) {
  if (n == 0) return nullptr;
  const int threads = ((states + 31) / 32) * 32;
  const size_t shared = 2 * static_cast<size_t>(states) * sizeof(double);
  ForwardKernel<<<static_cast<unsigned>(n), threads, shared, static_cast<cudaStream_t>(stream)>>>(
      transition, states, score, observed, hit, miss, length, fresh, log_start, back, steps);
  const cudaError_t error = cudaGetLastError();
  return error == cudaSuccess ? nullptr : cudaGetErrorString(error);
}

const char* Backtrack(const int8_t* back, int states, const int64_t* last_state, const int64_t* length, int64_t* path,
                      int64_t n, int64_t steps, int lo, void* stream) {
  if (n == 0) return nullptr;
  constexpr int kThreads = 128;
  BacktrackKernel<<<static_cast<unsigned>((n + kThreads - 1) / kThreads), kThreads, 0,
                    static_cast<cudaStream_t>(stream)>>>(back, states, last_state, length, path, n, steps, lo);
  const cudaError_t error = cudaGetLastError();
  return error == cudaSuccess ? nullptr : cudaGetErrorString(error);
}

}  // namespace crepe::viterbi_kernels
