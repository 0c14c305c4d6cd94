// Internals of the resamplers, shared by resample.cpp and the unit tests.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "crepe/status.h"

namespace crepe::audio_internal {

// resampy's kaiser_best filter (resampy/data/kaiser_best.npz): the right wing of a Kaiser-windowed
// sinc, kKaiserBestPrecision taps per zero crossing.
inline constexpr int kKaiserBestZeroCrossings = 50;
inline constexpr int kKaiserBestPrecision = 8192;  // 2^13
inline constexpr int64_t kKaiserBestTaps = int64_t{kKaiserBestZeroCrossings} * kKaiserBestPrecision + 1;
// The exact values behind the filter shipped with resampy: the rolloff is the one stored in
// kaiser_best.npz; beta is the double that regenerates the stored window best (the docs round
// them to 0.917347 and 12.9846, which is not bit-exact).
inline constexpr double kKaiserBestRolloff = 0.9173473712608761;
inline constexpr double kKaiserBestBeta = 12.984585247040012;

// Modified Bessel function of the first kind, order 0, exactly as numpy.i0 computes it (Cephes'
// Chebyshev expansions, same evaluation order).
double BesselI0(double x);

// The half window, computed once per process (thread-safe) and never modified.
const std::vector<double>& KaiserBestHalfWindow();

// resampy.resample(x, sr_orig, sr_new, filter='kaiser_best') for float32 input: output length
// int(n * sr_new / sr_orig); a float32 accumulator rounded after every tap. Rates must be positive
// and differ; the output must have at least one sample. Long signals are split over up to
// `max_threads` threads (0: one per core); the result does not depend on it.
Result<std::vector<float>> ResampleKaiserBest(const float* x, int64_t n, int sr_orig, int sr_new, int max_threads = 0);

// The same resampler fed piece by piece: every output sample is computed, with the same
// arithmetic, as soon as all the input it reads has arrived, so the concatenated output equals
// ResampleKaiserBest on the whole signal bit for bit. Memory: the recent input only.
class KaiserBestStream {
 public:
  static Result<std::unique_ptr<KaiserBestStream>> Make(int sr_orig, int sr_new);
  Status Push(const float* x, int64_t n);
  // Appends the output samples that are now final to `out`; with `final` (no more input), all
  // the rest, up to int(n * sr_new / sr_orig) in total.
  Status Drain(bool final, std::vector<float>& out);

 private:
  KaiserBestStream(int sr_orig, int sr_new, std::shared_ptr<const void> tables);
  int sr_orig_;
  int sr_new_;
  std::shared_ptr<const void> tables_;  // KaiserTables, shared with other users of this ratio
  int64_t reach_ = 0;
  std::vector<float> input_;  // input samples [input_base_, received_)
  int64_t input_base_ = 0;
  int64_t received_ = 0;
  int64_t next_output_ = 0;
};

// libsoxr, SOXR_VHQ, float32 mono; output trimmed or zero-padded to exactly out_len samples.
Result<std::vector<float>> ResampleSoxrVhq(const float* x, int64_t n, int sr_orig, int sr_new, int64_t out_len);

}  // namespace crepe::audio_internal
