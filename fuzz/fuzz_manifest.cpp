// libFuzzer target: arbitrary bytes as a crepe-client manifest, listed against a small folder
// tree (files, folders, patterns, "/./" markers), and every listed file written back as a failed-
// inputs manifest line and listed again. Entries that leave the sandbox (absolute paths, also
// escaped ones, "..") are dropped: listing the machine's own file system would only measure its size.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "input_list.h"

namespace {
constexpr size_t kMaxEntries = 32;
char sandbox[] = "/tmp/crepe-fuzz-manifest-XXXXXX";

void RemoveSandbox() {
  std::error_code ec;
  std::filesystem::remove_all(sandbox, ec);
}

void MakeSandbox() {
  namespace fs = std::filesystem;
  const char* dir = ::mkdtemp(sandbox);
  if (dir == nullptr || ::chdir(dir) != 0) std::abort();
  std::atexit(RemoveSandbox);
  for (const char* f : {"a/b.wav", "a/c.flac", "a/deep/e.ogg", "d.wav", "sp ace.wav", "x[1].wav", "notes.txt"}) {
    fs::create_directories(fs::path(f).parent_path().empty() ? "." : fs::path(f).parent_path());
    std::ofstream(f) << "RIFF";
  }
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  MakeSandbox();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> entries;
  for (std::string& e : crepe::client::ParseManifest(std::string_view(reinterpret_cast<const char*>(data), size))) {
    // "\\/*" is the pattern "/*" (found by this fuzzer: it listed the whole machine): no leading escape either.
    if (e[0] == '/' || e[0] == '\\' || e.find("..") != std::string::npos || entries.size() == kMaxEntries) continue;
    entries.push_back(std::move(e));
  }
  const crepe::client::InputList listed = crepe::client::ListInputs({}, entries);
  for (const crepe::InputFile& file : listed.files) {
    const std::string line = crepe::client::ManifestLine(file);
    if (line.empty() || line[0] == '/' || line.find("..") != std::string::npos) continue;
    (void)crepe::client::ListInputs({}, crepe::client::ParseManifest(line));
  }
  return 0;
}
