// The analysis options crepe-predict and crepe-client share: model, hop, decoder, frequency
// range, post-processing and which outputs to write. One definition, so both tools spell, default
// and validate them identically.
#pragma once

#include <optional>
#include <string>

#include "crepe/prediction.h"
#include "crepe/predict_options.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace crepe::cli {

// What the analysis options produce once parsed and validated.
struct AnalysisOptions {
  std::string model = "full";  // a capacity name (checked by ParseCapacity)
  PredictOptions predict;      // want_activations / want_embeddings follow `outputs`
  OutputSelection outputs;
};

// Registers the analysis options on a CLI11 app and turns what was given into AnalysisOptions.
// CLI11 binds options to variables that must outlive parsing, so this object holds the raw values
// and must stay alive until Apply() has run.
class AnalysisFlags {
 public:
  // Adds -m/--model, --hop, --step-ms, --decoder, -V/--viterbi, --fmin, --fmax, --no-center,
  // --resampler, --activations, --embeddings, --periodicity, --threshold, --hysteresis,
  // --silence-db, --silence-reference-db, --median-filter and --mean-filter to `app`. The
  // values start from `defaults` (e.g. a tool's own batch size).
  void AddTo(CLI::App& app, const AnalysisOptions& defaults = {});

  // After parsing: the options given, validated. Throws CLI::ValidationError (so every bad
  // option reads like CLI11's own errors); call it from the app's callback.
  AnalysisOptions Apply() const;

 private:
  AnalysisOptions base_;
  double hop_samples_ = 0;
  double step_ms_ = 0;
  std::string decoder_ = "weighted_argmax";
  std::string resampler_ = "kaiser_best";
  bool no_center_ = false;
  float threshold_ = -1;
  float silence_db_ = 0;
  double silence_reference_db_ = 0;
  CLI::Option* hop_ = nullptr;
  CLI::Option* step_ = nullptr;
  CLI::Option* threshold_opt_ = nullptr;
  CLI::Option* hysteresis_opt_ = nullptr;
  CLI::Option* silence_opt_ = nullptr;
  CLI::Option* silence_reference_opt_ = nullptr;
};

}  // namespace crepe::cli
