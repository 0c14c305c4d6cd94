#include "predict_options.h"

#include <CLI/CLI.hpp>
#include <cstdlib>

namespace crepe::cli {
namespace {

// A Status from the core as a CLI11 validation failure, so every bad option reads the same way.
void ThrowIfError(const Status& s) {
  if (!s.ok()) throw CLI::ValidationError(s.message());
}

}  // namespace

int ParsePredictCommand(int argc, char** argv, PredictCommand& c) {
  CLI::App app{
      "crepe-predict: estimate pitch with CREPE (all five capacities, official weights).\n"
      "Writes <name>.f0.csv (time,frequency,confidence) per input, like the original CREPE."};
  app.add_option("inputs", c.inputs, "Audio files (WAV, FLAC, OGG, any rate) or directories (searched recursively)");
  app.add_option("--frames", c.frames_file,
                 "Run the network alone on already-normalised frames (float32 N x 1024 .npy); writes activations");
  app.add_option("-m,--model", c.model, "Model capacity: tiny, small, medium, large, full")
      ->capture_default_str()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--weights", c.weights, "Weights file (Keras HDF5); default <models-dir>/<model>.h5");
  app.add_option("--models-dir", c.models_dir,
                 "Folder of <capacity>.h5 files (default: $CREPE_MODELS_DIR or the "
                 "project's models/)");
  app.add_option("-o,--output-dir", c.output_dir,
                 "Output folder, mirroring the input tree (default: beside each input)");
  double hop_samples = 0, step_ms = 0;
  auto* hop = app.add_option("--hop", hop_samples, "Hop in samples at the input's sample rate");
  auto* step = app.add_option("--step-ms", step_ms, "Hop in milliseconds (default 10)")->excludes(hop);
  std::string decoder = "weighted_argmax";
  app.add_option("--decoder", decoder, "argmax, weighted_argmax (the original's default) or viterbi")
      ->capture_default_str();
  app.add_flag(
      "-V,--viterbi", [&](std::int64_t) { decoder = "viterbi"; }, "Same as --decoder viterbi");
  app.add_option("--fmin", c.predict.fmin_hz, "Lowest frequency a decoder may choose, Hz (default: no limit)");
  app.add_option("--fmax", c.predict.fmax_hz, "Highest frequency a decoder may choose, Hz (default: no limit)");
  bool no_center = false;
  app.add_flag("--no-center", no_center, "Do not pad 512 zeros on each side (frames start at t * hop)");
  std::string resampler = "kaiser_best";
  app.add_option("--resampler", resampler, "kaiser_best (bit-exact with the original's resampy) or soxr_vhq")
      ->capture_default_str();
  app.add_flag("--activations", c.outputs.activations, "Also write <name>.activation.npy (float32 frames x 360)");
  app.add_flag("--embeddings", c.outputs.embeddings, "Also write <name>.embedding.npy (float32 frames x 32 x C5/4)");
  app.add_flag("--periodicity", c.outputs.periodicity, "Also write <name>.periodicity.csv (time,periodicity)");
  float threshold = -1, silence_db = 0;
  auto* threshold_opt = app.add_option("--threshold", threshold, "Unvoice frames whose periodicity is below this");
  app.add_flag("--hysteresis", "Unvoice with torchcrepe's hysteresis threshold instead")->excludes(threshold_opt);
  auto* silence_opt =
      app.add_option("--silence-db", silence_db, "Zero the periodicity of frames quieter than this A-weighted dB");
  app.add_option("--median-filter", c.predict.post.periodicity_median_window,
                 "Median-filter the periodicity over this many frames (odd)");
  app.add_option("--mean-filter", c.predict.post.pitch_mean_window,
                 "Mean-filter the voiced pitch over this many frames (odd)");
  app.add_option("--device", c.device, "cpu, cuda or cuda:N")->capture_default_str();
  app.add_option("--batch", c.predict.batch_frames,
                 "Frames prepared and handed to the network at once (bounds memory; results do not depend on it)")
      ->capture_default_str();
  app.add_flag("-q,--quiet", c.quiet, "No progress output");

  app.callback([&]() {
    if (c.inputs.empty() && c.frames_file.empty()) throw CLI::ValidationError("give at least one INPUT, or --frames");
    ThrowIfError(ParseCapacity(c.model).status());
    auto d = ParseDecoder(decoder);
    ThrowIfError(d.status());
    c.predict.decoder = *d;
    auto r = ParseResampler(resampler);
    ThrowIfError(r.status());
    c.predict.resampler = *r;
    if (*hop) c.predict.hop = HopSpec::Samples(hop_samples);
    if (*step) c.predict.hop = HopSpec::Milliseconds(step_ms);
    c.predict.center = !no_center;
    if (*threshold_opt) c.predict.post.threshold = threshold;
    if (app.count("--hysteresis") > 0) c.predict.post.hysteresis = HysteresisOptions{};
    if (*silence_opt) c.predict.post.silence_db = silence_db;
    c.predict.want_activations = c.outputs.activations;
    c.predict.want_embeddings = c.outputs.embeddings;
    ThrowIfError(ValidatePredictOptions(c.predict));
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;  // usage errors exit 2, like other Unix tools
  }
  return -1;
}

std::string WeightsPathFor(const PredictCommand& c) {
  if (!c.weights.empty()) return c.weights;
  std::string dir = c.models_dir;
  if (dir.empty()) {
    const char* env = std::getenv("CREPE_MODELS_DIR");
    dir = env != nullptr ? env : CREPE_DEFAULT_MODELS_DIR;
  }
  return dir + "/" + c.model + ".h5";
}

}  // namespace crepe::cli
