// The post-processing users apply to CREPE's output: NaN-aware filters, voicing thresholds and
// a silence gate from A-weighted loudness. Semantics follow torchcrepe's filter.py, threshold.py
// and loudness.py unless noted.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "crepe/frames.h"
#include "crepe/status.h"

namespace crepe {

// NaN-aware moving median over an odd window >= 1 (lower median of the non-NaN values; NaN where a
// window holds none). Reflect padding at the edges, padded positions do not count, i.e. edge
// windows are truncated; this also serves inputs shorter than window/2 + 1, which torchcrepe
// rejects. Empty input gives empty output; an even or non-positive window is InvalidArgument.
Result<std::vector<float>> MedianFilter(const std::vector<float>& x, int window);

// NaN-aware moving mean over an odd window >= 1; edge windows are truncated; a window with no valid
// value gives NaN. Unlike torchcrepe, a genuine mean of exactly 0 stays 0 (torchcrepe turns
// every exact-zero result into NaN).
Result<std::vector<float>> MeanFilter(const std::vector<float>& x, int window);

// pitch[t] = NaN where periodicity[t] < threshold (strictly less). Sizes must match; the
// threshold must be finite.
Result<std::vector<float>> ApplyThreshold(const std::vector<float>& pitch, const std::vector<float>& periodicity,
                                          float threshold);

struct HysteresisOptions {
  float lower = 0.19f;
  float upper = 0.31f;
  float width = 0.2f;
  float stds = 1.7f;
};
// torchcrepe's Hysteresis threshold on one sequence (float32 arithmetic): pitch NaN where
// rejected. Kept frames hold the input pitch unchanged (torchcrepe returns a float32 log2/exp2
// round trip of it, and all-NaN when the voiced log-pitch has zero or undefined spread).
// Sizes must match; options must be finite.
Result<std::vector<float>> ApplyHysteresis(const std::vector<float>& pitch, const std::vector<float>& periodicity,
                                           const HysteresisOptions& options);

// A-weighted loudness in dB of each frame of `grid` over the 16 kHz signal (full scale = 1.0),
// from a periodic-Hann 1024-point spectrum as torchcrepe computes it: per bin
// db = max(10 log10(max(1e-10, |S|^2)), reference_db - 80) (librosa's top_db), then
// max(db + A(f) - 20, -100) with A clamped at -80, averaged over the 513 bins. Samples outside
// [0, n) are zeros. The 80 dB range matters: without it a pure tone's many empty bins would pull
// its loudness down to about -100 dB and a -60 dB gate would silence it. reference_db defaults to
// the loudest bin of all the grid's frames, as torchcrepe does; a caller that sees audio piece by
// piece (a stream) passes a fixed reference so that frames do not depend on what comes later.
std::vector<float> AWeightedLoudness(const float* audio16k, int64_t n, const FrameGrid& grid,
                                     std::optional<double> reference_db = std::nullopt);

// The same loudness for one 1024-sample window (the frame's raw samples) against a fixed
// reference; AWeightedLoudness gives exactly this for each of its frames.
float AWeightedWindowLoudness(const float* window, double reference_db);

// periodicity[t] = 0 where loudness_db[t] < threshold_db. Sizes must match; the threshold must
// not be NaN.
Status ApplySilenceGate(std::vector<float>& periodicity, const std::vector<float>& loudness_db, float threshold_db);

}  // namespace crepe
