#include "predict_options.h"

#include <CLI/CLI.hpp>
#include <cstdlib>

#include "analysis_options.h"
#include "crepe/weights.h"

namespace crepe::cli {

int ParsePredictCommand(int argc, char** argv, PredictCommand& c) {
  CLI::App app{
      "crepe-predict: estimate pitch with CREPE (all five capacities, official weights).\n"
      "Writes <name>.f0.csv (time,frequency,confidence) per input, like the original CREPE."};
  app.add_option("inputs", c.inputs, "Audio files (WAV, FLAC, OGG, any rate) or directories (searched recursively)");
  app.add_option("--frames", c.frames_file,
                 "Run the network alone on already-normalised frames (float32 N x 1024 .npy); writes activations");
  auto* from = app.add_option("--activations-from", c.activations_from,
                              "Decode the activations an earlier --activations run wrote to this folder "
                              "(<name>.activation.npy, found as -o would place it) instead of running the network: "
                              "tries other decoders and post-processing quickly; same options otherwise");
  from->check(CLI::ExistingDirectory);
  app.add_option("--export-torchcrepe", c.export_torchcrepe,
                 "Write the weights as torchcrepe state dicts <capacity>.pth (torch.load-able, torchcrepe's "
                 "parameter names) into this folder, then stop: all five capacities from --models-dir, or only "
                 "-m's, or only the --weights file's");
  AnalysisFlags analysis;
  AnalysisOptions defaults;
  defaults.model = c.model;
  defaults.predict = c.predict;
  defaults.outputs = c.outputs;
  analysis.AddTo(app, defaults);
  app.add_option("--weights", c.weights, "Weights file (Keras HDF5); default <models-dir>/<model>.h5");
  app.add_flag("--allow-unofficial-weights", c.allow_unofficial_weights,
               "Read weight files other than the official ones (by sha256): only files you trust, since the HDF5 "
               "library is not safe on crafted files");
  app.add_option("--models-dir", c.models_dir,
                 "Folder of <capacity>.h5 files (default: $CREPE_MODELS_DIR or the "
                 "project's models/)");
  app.add_option("-o,--output-dir", c.output_dir,
                 "Output folder, mirroring the input tree (default: beside each input)");
  app.add_option("--device", c.device, "cpu, cuda or cuda:N")->capture_default_str();
  app.add_option("--precision", c.precision,
                 "Forward pass arithmetic: fp32 (parity with the original), tf32 (CUDA), bf16 or fp16")
      ->check(CLI::IsMember({"fp32", "tf32", "bf16", "fp16"}))
      ->capture_default_str();
  int64_t batch = c.predict.batch_frames;
  app.add_option("--batch", batch,
                 "Frames prepared and handed to the network at once (bounds memory; results do not depend on it)")
      ->capture_default_str();
  app.add_flag("-q,--quiet", c.quiet, "No progress output");

  app.callback([&]() {
    AnalysisOptions a = analysis.Apply();
    if (!c.export_torchcrepe.empty()) {
      if (!c.inputs.empty() || !c.frames_file.empty() || !c.activations_from.empty()) {
        throw CLI::ValidationError("--export-torchcrepe takes no INPUT, --frames or --activations-from");
      }
      if (!c.weights.empty() && app.count("--model") == 0) {
        auto detected = DetectCapacity(c.weights, WeightsTrustFor(c));
        if (!detected.ok()) throw CLI::ValidationError(detected.status().message());
        a.model = std::string(CapacityName(*detected));
      }
      if (app.count("--model") > 0 || !c.weights.empty()) {
        c.export_capacities = {a.model};
      } else {
        for (Capacity cap : kAllCapacities) c.export_capacities.emplace_back(CapacityName(cap));
      }
      c.model = a.model;
      return;
    }
    if (c.inputs.empty() && c.frames_file.empty()) throw CLI::ValidationError("give at least one INPUT, or --frames");
    c.model = a.model;
    c.predict = a.predict;
    c.outputs = a.outputs;
    c.predict.batch_frames = batch;
    if (!c.activations_from.empty() && !c.frames_file.empty()) {
      throw CLI::ValidationError("--activations-from and --frames do not go together");
    }
    if (!c.activations_from.empty() && c.outputs.embeddings) {
      throw CLI::ValidationError("--embeddings needs the network: not with --activations-from");
    }
    if (Status s = ValidatePredictOptions(c.predict); !s.ok()) throw CLI::ValidationError(s.message());
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;  // usage errors exit 2, like other Unix tools
  }
  return -1;
}

WeightsTrust WeightsTrustFor(const PredictCommand& c) {
  return c.allow_unofficial_weights ? WeightsTrust::kAnyFile : WeightsTrust::kOfficialOnly;
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
