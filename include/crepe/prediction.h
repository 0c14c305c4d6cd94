// What a pitch estimate of one clip holds, and how it is written to disk.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "crepe/status.h"

namespace crepe {

struct Prediction {
  std::vector<double> time;        // seconds, centre of each analysed window
  std::vector<float> frequency;    // Hz; NaN where unvoiced or undefined
  std::vector<float> confidence;   // max activation (the original's confidence)
  std::vector<float> periodicity;  // activation at the decoded bin, after post-processing
  std::vector<float> activations;  // frames x 360 when asked for
  std::vector<float> embeddings;   // frames x 32 x embedding_width when asked for
  int embedding_width = 0;
  int64_t frames() const { return static_cast<int64_t>(time.size()); }

  // Appends the rows of `later` (the frames that follow these), as the incremental pipeline
  // releases them.
  void Append(Prediction&& later) {
    auto append = [](auto& to, auto& from) { to.insert(to.end(), from.begin(), from.end()); };
    if (later.embedding_width != 0) embedding_width = later.embedding_width;
    append(time, later.time);
    append(frequency, later.frequency);
    append(confidence, later.confidence);
    append(periodicity, later.periodicity);
    append(activations, later.activations);
    append(embeddings, later.embeddings);
  }
};

// Which files to write besides <stem>.f0.csv.
struct OutputSelection {
  bool activations = false;  // <stem>.activation.npy, float32 frames x 360
  bool embeddings = false;   // <stem>.embedding.npy, float32 frames x 32 x width
  bool periodicity = false;  // <stem>.periodicity.csv, "time,periodicity"
};

// The files of one prediction as (path, contents): <stem>.f0.csv, then the selected
// .activation.npy, .embedding.npy and .periodicity.csv, in that order. Checks that every series
// written has one value (row) per frame.
Result<std::vector<std::pair<std::string, std::string>>> FormatPredictionFiles(const Prediction& prediction,
                                                                               const std::string& stem,
                                                                               const OutputSelection& selection);

// Writes <stem>.f0.csv and the selected outputs (stem e.g. "out/dir/clip") as one atomic group:
// all are complete before any replaces an existing file, so a failure leaves earlier outputs intact.
Status WritePredictionFiles(const Prediction& prediction, const std::string& stem, const OutputSelection& selection);

}  // namespace crepe
