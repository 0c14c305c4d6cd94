// Fused CUDA kernels for the Viterbi decoder's forward steps and backtrack, on the raw memory of
// CUDA tensors, launched on the given stream (a cudaStream_t passed as void*, so no CUDA type is
// needed here). Built where a CUDA toolkit compiles them (CREPE_HAVE_VITERBI_KERNELS); the per-state
// arithmetic is viterbi_step.h's, which the host loops in device_decode.cpp share.
#pragma once

#include <cstdint>

namespace crepe::viterbi_kernels {

// Each launcher returns null, or the CUDA runtime's message when the launch failed.

// n sequences, one thread block each, up to `steps` frames: frame t of sequence b takes the
// emissions of observed[b][t] (hit, miss), and its scores (score[b], states values, in and out)
// advance by one step, the offsets of the best predecessors going to back[b][t] (states bytes);
// a sequence with fresh[b] starts at its frame 0. Frames at or past length[b] are left alone.
// transition: states x 23, largest predecessor first.
const char* Forward(const double* transition, int states, double* score, const int64_t* observed, const double* hit,
                    const double* miss, const int64_t* length, const bool* fresh, double log_start, int8_t* back,
                    int64_t n, int64_t steps, void* stream);

// The paths of n sequences, one thread each: path[b][t] for t < length[b], from last_state[b]
// (0-based) at frame length[b] - 1 back through back[b] (n x steps x states), plus `lo`.
const char* Backtrack(const int8_t* back, int states, const int64_t* last_state, const int64_t* length, int64_t* path,
                      int64_t n, int64_t steps, int lo, void* stream);

}  // namespace crepe::viterbi_kernels
