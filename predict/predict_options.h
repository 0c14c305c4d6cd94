// Command-line options of crepe-predict (the analysis options themselves are shared with
// crepe-client, in cli/analysis_options.h).
#pragma once

#include <string>
#include <vector>

#include "crepe/prediction.h"
#include "crepe/predictor.h"
#include "crepe/weights.h"

namespace crepe::cli {

struct PredictCommand {
  std::vector<std::string> inputs;
  std::string frames_file;  // --frames: run the network alone on N x 1024 frames
  // --activations-from: decode <dir>/<name>.activation.npy instead of running the network
  std::string activations_from;
  // --export-torchcrepe: write torchcrepe state dicts (<capacity>.pth) into this folder and stop
  std::string export_torchcrepe;
  std::vector<std::string> export_capacities;  // which: -m if given, the --weights file's, else all five
  std::string model = "full";
  std::string weights;                    // explicit weights file
  bool allow_unofficial_weights = false;  // parse weight files other than the official ones (weights.h)
  std::string models_dir;                 // where <model>.h5 lives
  std::string output_dir;
  std::string device = "cpu";
  std::string precision = "fp32";  // of the forward pass (crepe::Precision)
  bool quiet = false;
  PredictOptions predict;
  OutputSelection outputs;
};

// Parses argv. Returns the exit code to use if the program should stop now (help, or a usage
// error already printed), or -1 to go on.
int ParsePredictCommand(int argc, char** argv, PredictCommand& command);

// Weights file for the command: --weights, else <models dir>/<model>.h5.
std::string WeightsPathFor(const PredictCommand& command);
WeightsTrust WeightsTrustFor(const PredictCommand& command);

}  // namespace crepe::cli
