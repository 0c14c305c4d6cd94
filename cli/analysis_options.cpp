#include "analysis_options.h"

#include <CLI/CLI.hpp>

#include "crepe/audio.h"
#include "crepe/capacity.h"
#include "crepe/decode.h"

namespace crepe::cli {
namespace {

// A Status from the core as a CLI11 validation failure, so every bad option reads the same way.
void ThrowIfError(const Status& s) {
  if (!s.ok()) throw CLI::ValidationError(s.message());
}

}  // namespace

void AnalysisFlags::AddTo(CLI::App& app, const AnalysisOptions& defaults) {
  base_ = defaults;
  app.add_option("-m,--model", base_.model, "Model capacity: tiny, small, medium, large, full")
      ->capture_default_str()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  hop_ = app.add_option("--hop", hop_samples_, "Hop in samples at the input's sample rate");
  step_ = app.add_option("--step-ms", step_ms_, "Hop in milliseconds (default 10)")->excludes(hop_);
  app.add_option("--decoder", decoder_,
                 "argmax, weighted_argmax (the original's default), viterbi (the original's) or viterbi_confidence "
                 "(observations weighted by activation: better after silence)")
      ->capture_default_str();
  app.add_flag(
      "-V,--viterbi", [this](std::int64_t) { decoder_ = "viterbi"; }, "Same as --decoder viterbi");
  app.add_option("--fmin", base_.predict.fmin_hz, "Lowest frequency a decoder may choose, Hz (default: no limit)");
  app.add_option("--fmax", base_.predict.fmax_hz, "Highest frequency a decoder may choose, Hz (default: no limit)");
  app.add_flag("--no-center", no_center_, "Do not pad 512 zeros on each side (frames start at t * hop)");
  app.add_option("--resampler", resampler_, "kaiser_best (bit-exact with the original's resampy) or soxr_vhq")
      ->capture_default_str();
  app.add_flag("--activations", base_.outputs.activations, "Also write <name>.activation.npy (float32 frames x 360)");
  app.add_flag("--embeddings", base_.outputs.embeddings,
               "Also write <name>.embedding.npy (float32 frames x 32 x C5/4)");
  app.add_flag("--periodicity", base_.outputs.periodicity, "Also write <name>.periodicity.csv (time,periodicity)");
  threshold_opt_ = app.add_option("--threshold", threshold_, "Unvoice frames whose periodicity is below this");
  hysteresis_opt_ =
      app.add_flag("--hysteresis", "Unvoice with torchcrepe's hysteresis threshold instead")->excludes(threshold_opt_);
  silence_opt_ =
      app.add_option("--silence-db", silence_db_, "Zero the periodicity of frames quieter than this A-weighted dB");
  silence_reference_opt_ = app.add_option("--silence-reference-db", silence_reference_db_,
                                          "The silence gate's 0 dB reference (default: the clip's loudest moment; "
                                          "e.g. 0 for digital full scale, judging each frame on its own)")
                               ->needs(silence_opt_);
  app.add_option("--median-filter", base_.predict.post.periodicity_median_window,
                 "Median-filter the periodicity over this many frames (odd)");
  app.add_option("--mean-filter", base_.predict.post.pitch_mean_window,
                 "Mean-filter the voiced pitch over this many frames (odd)");
}

AnalysisOptions AnalysisFlags::Apply() const {
  AnalysisOptions a = base_;
  ThrowIfError(ParseCapacity(a.model).status());
  auto d = ParseDecoder(decoder_);
  ThrowIfError(d.status());
  a.predict.decoder = *d;
  auto r = ParseResampler(resampler_);
  ThrowIfError(r.status());
  a.predict.resampler = *r;
  if (*hop_) a.predict.hop = HopSpec::Samples(hop_samples_);
  if (*step_) a.predict.hop = HopSpec::Milliseconds(step_ms_);
  a.predict.center = !no_center_;
  if (*threshold_opt_) a.predict.post.threshold = threshold_;
  if (*hysteresis_opt_) a.predict.post.hysteresis = HysteresisOptions{};
  if (*silence_opt_) a.predict.post.silence_db = silence_db_;
  if (*silence_reference_opt_) a.predict.post.silence_reference_db = silence_reference_db_;
  a.predict.want_activations = a.outputs.activations;
  a.predict.want_embeddings = a.outputs.embeddings;
  ThrowIfError(ValidatePredictOptions(a.predict));
  return a;
}

}  // namespace crepe::cli
