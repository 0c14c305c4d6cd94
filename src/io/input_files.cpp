#include "crepe/input_files.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>

namespace crepe {
namespace fs = std::filesystem;

bool HasAudioExtension(const std::string& path) {
  static constexpr std::array<const char*, 9> kExtensions = {".wav", ".flac", ".ogg", ".oga", ".opus",
                                                             ".aif", ".aiff", ".mp3", ".w64"};
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return std::find(kExtensions.begin(), kExtensions.end(), ext) != kExtensions.end();
}

Result<std::vector<InputFile>> CollectInputs(const std::vector<std::string>& arguments) {
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

std::string OutputStem(const InputFile& input, const std::string& output_dir) {
  if (output_dir.empty()) return (fs::path(input.path).parent_path() / fs::path(input.path).stem()).string();
  return (fs::path(output_dir) / input.relative_stem).string();
}

}  // namespace crepe
