// <stem>.crepe.json: what produced an input's outputs (settings, model, server) and which files
// they are. Written last, atomically with the outputs, it is the mark that an input is done, and
// what a rerun checks to skip it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "analysis_options.h"

namespace crepe::client {

// What one completed request produced, besides the settings asked for.
struct SidecarRecord {
  std::string input;  // the input path as listed
  std::string model_name;
  std::string weights_sha256;
  std::string device;  // as the server reports it, e.g. "cuda:0"
  std::string server;  // host:port that answered
  std::string request_id;
  int64_t frames = 0;
  double audio_seconds = 0;
  std::vector<std::string> outputs;  // file names beside the sidecar
};

std::string SidecarPath(const std::string& stem);  // <stem>.crepe.json

// The sidecar's text (JSON, ending in a newline): sidecar_format.proto's Sidecar, with every
// analysis option under "settings".
std::string EncodeSidecar(const cli::AnalysisOptions& settings, const SidecarRecord& record);

// Whether <stem>'s outputs are complete for `settings`: the sidecar exists, parses, records equal
// settings (compared as parsed messages), and lists every output `settings` asks for, each of
// which exists. `why_not` (optional) says what failed, for logs.
bool OutputsComplete(const std::string& stem, const cli::AnalysisOptions& settings, std::string* why_not = nullptr);

}  // namespace crepe::client
