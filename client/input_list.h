// Turning crepe-client's inputs (files, directories, glob patterns, manifests) into the sorted
// list of audio files to process, each with its output name, and writing failed inputs back as a
// manifest that names them the same way.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "crepe/input_files.h"
#include "crepe/status.h"

namespace crepe::client {

// An input that could not even be listed (a missing file, a pattern that matched nothing).
struct ListingError {
  std::string entry;  // as given
  Status status;
};

struct InputList {
  std::vector<InputFile> files;  // sorted by path, no duplicates
  std::vector<ListingError> errors;
};

// The entries of a manifest: one path (or pattern) per line; blank lines and lines starting
// with '#' are skipped, surrounding white space is ignored.
Result<std::vector<std::string>> ReadManifest(const std::string& path);
std::vector<std::string> ParseManifest(std::string_view text);

// Lists `arguments` (command-line INPUTs) and `manifest_entries`. Directories are searched
// recursively and mirrored (CollectInputs); patterns the shell did not expand are expanded with
// glob(3). Output names, relative to the output folder, without extension:
//  - a path containing "/./" (or starting with "./"): the part after it, as with rsync -R;
//  - a file found in a directory: its path below that directory;
//  - a file named on the command line: its base name, as crepe-predict does;
//  - a relative file path in a manifest (without ".."): that path, so a dataset list is mirrored;
//    any other manifest path: its base name.
InputList ListInputs(const std::vector<std::string>& arguments, const std::vector<std::string>& manifest_entries);

// The manifest line that lists `input` again under the same output name (failed.txt). A path
// whose name would come out differently gets a "/./" marker before the part that names it.
std::string ManifestLine(const InputFile& input);

// --shard I/N: which share of the sorted inputs this run takes.
struct Shard {
  int index = 0;
  int count = 1;
};
Result<Shard> ParseShard(const std::string& text);
// Keeps the inputs whose position (in sorted order) modulo count equals index.
std::vector<InputFile> TakeShard(const std::vector<InputFile>& files, const Shard& shard);

}  // namespace crepe::client
