#include "crepe/input_files.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <map>

namespace crepe {
namespace fs = std::filesystem;

bool HasAudioExtension(const std::string& path) {
  static constexpr std::array<const char*, 9> kExtensions = {".wav", ".flac", ".ogg", ".oga", ".opus",
                                                             ".aif", ".aiff", ".mp3", ".w64"};
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return std::find(kExtensions.begin(), kExtensions.end(), ext) != kExtensions.end();
}

namespace {

Result<std::vector<InputFile>> Collect(const std::vector<std::string>& arguments) {
  std::vector<InputFile> inputs;
  for (const std::string& arg : arguments) {
    std::error_code ec;
    const fs::path root(arg);
    if (fs::is_directory(root, ec)) {
      std::vector<fs::path> found;
      fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
      if (ec) return NotFoundError("cannot read directory '" + arg + "': " + ec.message());
      for (; it != end; it.increment(ec)) {
        if (ec) return InternalError("error while searching '" + arg + "': " + ec.message());
        if (it->is_regular_file(ec) && HasAudioExtension(it->path().string())) found.push_back(it->path());
      }
      std::sort(found.begin(), found.end());
      for (const fs::path& p : found) {
        fs::path rel = p.lexically_relative(root);
        inputs.push_back({p.string(), rel.replace_extension().string()});
      }
    } else if (fs::exists(root, ec)) {
      inputs.push_back({arg, root.stem().string()});
    } else {
      return NotFoundError("input '" + arg + "' does not exist");
    }
  }
  return inputs;
}

}  // namespace

Result<std::vector<InputFile>> CollectInputs(const std::vector<std::string>& arguments) {
  try {
    return Collect(arguments);
  } catch (const std::exception& e) {  // bad_alloc, or a filesystem_error from a path we cannot read
    return InternalError(std::string("collecting the inputs: ") + e.what());
  }
}

std::string OutputStem(const InputFile& input, const std::string& output_dir) {
  if (output_dir.empty()) return (fs::path(input.path).parent_path() / fs::path(input.path).stem()).string();
  return (fs::path(output_dir) / input.relative_stem).string();
}

Status CheckDistinctOutputs(const std::vector<InputFile>& inputs, const std::string& output_dir) {
  try {
    std::map<std::string, const InputFile*> seen;
    for (const InputFile& input : inputs) {
      const std::string stem = fs::path(OutputStem(input, output_dir)).lexically_normal().string();
      auto [it, inserted] = seen.emplace(stem, &input);
      if (!inserted) {
        return InvalidArgumentError("inputs '" + it->second->path + "' and '" + input.path + "' would both write " +
                                    stem + ".f0.csv; rename one or process them separately");
      }
    }
    return Status::Ok();
  } catch (const std::exception& e) {
    return InternalError(std::string("checking output names: ") + e.what());
  }
}

}  // namespace crepe
