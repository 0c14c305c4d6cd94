// The analysis-frame grid: where each 1024-sample window sits in the 16 kHz signal, its exact
// time, and the per-frame normalisation of the original CREPE.
#pragma once

#include <cstdint>

#include "crepe/status.h"

namespace crepe {

// The hop between frames, as the caller states it: in samples at the caller's own sample rate,
// or in milliseconds.
struct HopSpec {
  enum class Unit { kSamples, kMilliseconds };
  Unit unit = Unit::kMilliseconds;
  double value = 10.0;

  static HopSpec Samples(double n) { return {Unit::kSamples, n}; }
  static HopSpec Milliseconds(double ms) { return {Unit::kMilliseconds, ms}; }
};

// Frame t is centred on 16 kHz sample round(t * hop16) (centre padding on, the default) or
// starts there (centre padding off). Times are the exact centres of the windows actually
// analysed, in seconds from the first input sample.
class FrameGrid {
 public:
  // num_samples_16k: length of the signal after resampling to 16 kHz.
  // input_sample_rate: the caller's rate, used to convert a hop given in samples.
  static Result<FrameGrid> Make(int64_t num_samples_16k, int input_sample_rate, const HopSpec& hop, bool center);

  int64_t size() const { return num_frames_; }
  int64_t num_samples_16k() const { return num_samples_16k_; }
  double hop_16k() const { return hop_16k_; }  // hop in 16 kHz samples (may be fractional)
  bool center() const { return center_; }

  // First sample of frame t in the unpadded 16 kHz signal; negative or past the end where the
  // window reaches into the (zero) padding.
  int64_t Start(int64_t t) const;
  // Centre of frame t in seconds.
  double Time(int64_t t) const;

 private:
  int64_t num_samples_16k_ = 0;
  int64_t num_frames_ = 0;
  double hop_16k_ = 160.0;
  bool center_ = true;
};

// Copies the 1024 samples starting at `start` (zeros outside [0, n)) into `out`.
void ExtractFrame(const float* audio16k, int64_t n, int64_t start, float* out);
// The same for `length` samples.
void ExtractSpan(const float* audio16k, int64_t n, int64_t start, int64_t length, float* out);

// In place: subtract the mean, divide by max(population std, 1e-8), as the original CREPE does.
void NormaliseFrame(float* frame);

}  // namespace crepe
