// Turning command-line inputs (files and directories) into a list of audio files, and naming
// their outputs.
#pragma once

#include <string>
#include <vector>

#include "crepe/status.h"

namespace crepe {

struct InputFile {
  std::string path;           // as found
  std::string relative_stem;  // path below the directory it was found in, without extension
};

// Audio extensions searched for inside directories (explicit files are taken as given).
bool HasAudioExtension(const std::string& path);

// Files are taken as given; directories are searched recursively for audio files, in sorted
// order. A missing input is an error; a directory with no audio is not (it yields nothing).
Result<std::vector<InputFile>> CollectInputs(const std::vector<std::string>& arguments);

// Where the outputs of `input` go: <output_dir>/<relative_stem>, mirroring the input tree, or
// next to the input when output_dir is empty.
std::string OutputStem(const InputFile& input, const std::string& output_dir);

// Fails, naming both inputs, when two inputs would write the same outputs (x.wav and x.flac in one
// folder, or a/x.wav and b/x.wav given as files with one output folder).
Status CheckDistinctOutputs(const std::vector<InputFile>& inputs, const std::string& output_dir);

}  // namespace crepe
