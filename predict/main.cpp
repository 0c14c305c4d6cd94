// crepe-predict: the offline command-line tool. Thin: options, files and progress here; all the
// work is in the core library.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "crepe/audio.h"
#include "crepe/file_io.h"
#include "crepe/input_files.h"
#include "crepe/model.h"
#include "crepe/predictor.h"
#include "crepe/torchcrepe_export.h"
#include "crepe/weights.h"
#include "predict_options.h"
#include "progress_line.h"

namespace crepe::cli {
namespace {

void PrintError(const std::string& message) { std::fprintf(stderr, "crepe-predict: error: %s\n", message.c_str()); }

// --frames: network alone on already-normalised frames.
Status RunFrames(const PredictCommand& c, Model& model) {
  CREPE_ASSIGN_OR_RETURN(NpyArray frames, ReadNpy(c.frames_file));
  if (frames.shape.size() != 2 || frames.shape[1] != kFrameLength) {
    return InvalidArgumentError(c.frames_file + ": expected a float32 array of shape (N, 1024)");
  }
  for (float v : frames.data) {
    if (!std::isfinite(v)) return InvalidArgumentError(c.frames_file + ": frames contain NaN or Inf");
  }
  const int64_t n = frames.shape[0];
  std::vector<float> activations(static_cast<size_t>(n) * kPitchBins);
  CREPE_RETURN_IF_ERROR(model.Infer(frames.data.data(), n, activations.data()));
  const InputFile as_input{c.frames_file, std::filesystem::path(c.frames_file).stem().string()};
  const std::string out = OutputStem(as_input, c.output_dir) + ".activation.npy";
  CREPE_RETURN_IF_ERROR(WriteFileAtomically(out, EncodeNpy(activations.data(), {n, kPitchBins})));
  if (!c.quiet) std::fprintf(stderr, "crepe-predict: wrote %s (%lld frames)\n", out.c_str(), static_cast<long long>(n));
  return Status::Ok();
}

// --export-torchcrepe: each capacity's weights as a torchcrepe state dict, <dir>/<capacity>.pth.
int RunExportTorchcrepe(PredictCommand& c) {
  int failed = 0;
  for (const std::string& name : c.export_capacities) {
    c.model = name;
    const std::string source = WeightsPathFor(c);
    const std::string out = c.export_torchcrepe + "/" + name + ".pth";
    auto weights = LoadKerasWeights(source, *ParseCapacity(name), WeightsTrustFor(c));
    Status s = weights.ok() ? WriteTorchcrepeStateDict(*weights, out) : weights.status();
    if (!s.ok()) {
      PrintError(s.message());
      ++failed;
      continue;
    }
    if (!c.quiet) std::fprintf(stderr, "crepe-predict: wrote %s (from %s)\n", out.c_str(), source.c_str());
  }
  return failed == 0 ? 0 : 1;
}

// The activations an earlier run wrote for `input` into `dir`, as (frames x 360) values.
Result<std::vector<float>> RecordedActivations(const InputFile& input, const std::string& dir) {
  const std::string path = OutputStem(input, dir) + ".activation.npy";
  auto npy = ReadNpy(path);
  if (!npy.ok()) return Status(npy.status().code(), "--activations-from: " + npy.status().message());
  if (npy->shape.size() != 2 || npy->shape[1] != kPitchBins) {
    return InvalidArgumentError(path + ": expected a float32 array of shape (frames, 360)");
  }
  return std::move(npy->data);
}

// `predictor` is null with --activations-from.
Status RunOne(const PredictCommand& c, Predictor* predictor, const InputFile& input, const std::string& label,
              ProgressLine& progress) {
  const auto start = std::chrono::steady_clock::now();
  CREPE_ASSIGN_OR_RETURN(AudioBuffer audio, ReadAudioFile(input.path));
  const double seconds = static_cast<double>(audio.frames()) / audio.sample_rate;
  Result<Prediction> predicted = Prediction{};
  if (predictor == nullptr) {
    CREPE_ASSIGN_OR_RETURN(std::vector<float> activations, RecordedActivations(input, c.activations_from));
    predicted = PredictFromActivations(audio, c.predict, std::move(activations));
  } else {
    predicted =
        predictor->Predict(audio, c.predict, [&](int64_t done, int64_t total) { progress.Update(label, done, total); });
  }
  if (!predicted.ok()) return predicted.status();
  const Prediction& p = *predicted;
  CREPE_RETURN_IF_ERROR(WritePredictionFiles(p, OutputStem(input, c.output_dir), c.outputs));
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  char line[256];
  std::snprintf(line, sizeof line, " %lld frames, %.1f s of audio in %.2f s (%.1fx real time)",
                static_cast<long long>(p.frames()), seconds, elapsed, elapsed > 0 ? seconds / elapsed : 0.0);
  progress.Finish(label + line);
  return Status::Ok();
}

int Run(int argc, char** argv) {
  PredictCommand c;
  if (const int code = ParsePredictCommand(argc, argv, c); code >= 0) return code;
  if (!c.export_torchcrepe.empty()) return RunExportTorchcrepe(c);

  // With --activations-from no network runs, so no weights are needed.
  std::unique_ptr<Model> model;
  if (c.activations_from.empty()) {
    ModelOptions model_options;
    model_options.device = c.device;
    model_options.precision = *ParsePrecision(c.precision);
    model_options.allow_unofficial_weights = c.allow_unofficial_weights;
    auto loaded = Model::Load(WeightsPathFor(c), *ParseCapacity(c.model), model_options);
    if (!loaded.ok()) {
      PrintError(loaded.status().message());
      return 1;
    }
    model = std::move(*loaded);
  }
  if (!c.frames_file.empty()) {
    if (Status s = RunFrames(c, *model); !s.ok()) {
      PrintError(s.message());
      return 1;
    }
    if (c.inputs.empty()) return 0;
  }
  auto inputs = CollectInputs(c.inputs);
  if (!inputs.ok()) {
    PrintError(inputs.status().message());
    return 1;
  }
  if (inputs->empty()) {
    PrintError("no audio files found in the given inputs");
    return 1;
  }
  if (Status s = CheckDistinctOutputs(*inputs, c.output_dir); !s.ok()) {
    PrintError(s.message());
    return 2;
  }
  std::optional<Predictor> predictor;
  if (model) predictor.emplace(*model);
  ProgressLine progress(!c.quiet);
  int failed = 0;
  const size_t n = inputs->size();
  for (size_t i = 0; i < n; ++i) {
    const InputFile& input = (*inputs)[i];
    const std::string label = "[" + std::to_string(i + 1) + "/" + std::to_string(n) + "] " + input.path;
    if (Status s = RunOne(c, predictor ? &*predictor : nullptr, input, label, progress); !s.ok()) {
      progress.Finish(label + " FAILED");
      PrintError(s.message());
      ++failed;
    }
  }
  if (failed > 0) {
    std::fprintf(stderr, "crepe-predict: %d of %zu input(s) failed\n", failed, n);
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace crepe::cli

int main(int argc, char** argv) { return crepe::cli::Run(argc, argv); }
