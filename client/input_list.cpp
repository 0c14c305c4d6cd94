#include "input_list.h"

#include <dirent.h>
#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string_view>

#include "crepe/file_io.h"

namespace crepe::client {
namespace {
namespace fs = std::filesystem;

enum class Origin { kArgument, kManifest };

// The part of `entry` after its rsync-style "/./" marker (or leading "./"), if it has one.
std::optional<std::string> AfterMarker(const std::string& entry) {
  const size_t pos = entry.rfind("/./");
  if (pos != std::string::npos) return entry.substr(pos + 3);
  if (entry.rfind("./", 0) == 0) return entry.substr(2);
  return std::nullopt;
}

// A relative path that stays below the output folder (no "..", not absolute, not empty).
bool StaysInside(const fs::path& p) {
  if (p.empty() || p.is_absolute()) return false;
  for (const fs::path& part : p) {
    if (part == "..") return false;
  }
  return true;
}

// The output name (without extension) of a file named directly by `entry`.
std::string NameForFile(const std::string& entry, Origin origin) {
  const fs::path base = fs::path(entry).stem();
  std::optional<std::string> named = AfterMarker(entry);
  if (!named && origin == Origin::kManifest) named = entry;
  if (!named) return base.string();
  fs::path rel = fs::path(*named).lexically_normal();
  if (!StaysInside(rel) || !rel.has_filename()) return base.string();
  return rel.replace_extension().string();
}

// The name prefix of the files found in directory `entry` ("" unless it carries a marker).
std::string PrefixForDirectory(const std::string& entry) {
  const std::optional<std::string> named = AfterMarker(entry);
  if (!named) return "";
  const fs::path rel = fs::path(*named).lexically_normal();
  if (!StaysInside(rel) || rel == ".") return "";
  return rel.string();
}

// glob(3) reads folders through these so that no wildcard ever matches "." or ".." (bash 5.2's
// globskipdots): glob lets ".*" match them and then reads the parent folder, so ".*/.*/*/*" walked
// everything above the current folder even where the matches were dropped afterwards (found by
// fuzz_manifest as a 10 s timeout). A literal "." or ".." in a pattern still works: glob opens it by name.
struct dirent* ReadDirSkippingDots(void* dir) {
  for (;;) {
    struct dirent* e = ::readdir(static_cast<DIR*>(dir));
    if (e == nullptr || (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)) return e;
  }
}

int GlobSkippingDots(const std::string& pattern, glob_t* matches) {
  matches->gl_opendir = [](const char* name) -> void* { return ::opendir(name); };
  matches->gl_readdir = ReadDirSkippingDots;
  matches->gl_closedir = [](void* dir) { ::closedir(static_cast<DIR*>(dir)); };
  matches->gl_lstat = [](const char* name, struct stat* st) { return ::lstat(name, st); };
  matches->gl_stat = [](const char* name, struct stat* st) { return ::stat(name, st); };
  return ::glob(pattern.c_str(), GLOB_ALTDIRFUNC, nullptr, matches);
}

bool LooksLikePattern(const std::string& entry) { return entry.find_first_of("*?[") != std::string::npos; }

// One entry that names an existing file or directory.
void AddExisting(const std::string& entry, Origin origin, InputList& out) {
  std::error_code ec;
  if (!fs::is_directory(entry, ec)) {
    out.files.push_back({entry, NameForFile(entry, origin)});
    return;
  }
  auto found = CollectInputs({entry});
  if (!found.ok()) {
    out.errors.push_back({entry, found.status()});
    return;
  }
  const std::string prefix = PrefixForDirectory(entry);
  for (InputFile& f : *found) {
    if (!prefix.empty()) f.relative_stem = (fs::path(prefix) / f.relative_stem).string();
    out.files.push_back(std::move(f));
  }
}

void AddEntry(const std::string& entry, Origin origin, InputList& out) {
  std::error_code ec;
  if (fs::exists(entry, ec)) {
    AddExisting(entry, origin, out);
    return;
  }
  if (!LooksLikePattern(entry)) {
    out.errors.push_back({entry, NotFoundError("input '" + entry + "' does not exist")});
    return;
  }
  // A pattern the shell did not expand (quoted, from a manifest, or too many files for argv).
  glob_t matches{};
  const int rc = GlobSkippingDots(entry, &matches);
  if (rc == 0) {
    for (size_t i = 0; i < matches.gl_pathc; ++i) AddExisting(matches.gl_pathv[i], origin, out);
  } else if (rc == GLOB_NOMATCH) {
    out.errors.push_back({entry, NotFoundError("no file matches '" + entry + "'")});
  } else {
    out.errors.push_back(
        {entry, InternalError("cannot expand '" + entry + "' (glob error " + std::to_string(rc) + ")")});
  }
  ::globfree(&matches);
}

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

}  // namespace

std::vector<std::string> ParseManifest(std::string_view text) {
  std::vector<std::string> entries;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    const std::string line = Trim(std::string(text.substr(begin, end - begin)));
    if (!line.empty() && line[0] != '#') entries.push_back(line);
    begin = end + 1;
  }
  return entries;
}

Result<std::vector<std::string>> ReadManifest(const std::string& path) {
  Result<std::string> text = ReadFileBytes(path);
  if (!text.ok()) return Status(text.status().code(), "cannot read manifest '" + path + "'");
  return ParseManifest(*text);
}

InputList ListInputs(const std::vector<std::string>& arguments, const std::vector<std::string>& manifest_entries) {
  InputList out;
  try {
    for (const std::string& a : arguments) AddEntry(a, Origin::kArgument, out);
    for (const std::string& m : manifest_entries) AddEntry(m, Origin::kManifest, out);
    auto by_path = [](const InputFile& a, const InputFile& b) {
      return a.path != b.path ? a.path < b.path : a.relative_stem < b.relative_stem;
    };
    std::sort(out.files.begin(), out.files.end(), by_path);
    // The same file reached twice under the same name (e.g. a folder and a pattern) is one input.
    out.files.erase(std::unique(out.files.begin(), out.files.end(),
                                [](const InputFile& a, const InputFile& b) {
                                  return a.path == b.path && a.relative_stem == b.relative_stem;
                                }),
                    out.files.end());
  } catch (const std::exception& e) {  // bad_alloc, or a filesystem_error from a path we cannot read
    out.errors.push_back({"", InternalError(std::string("listing the inputs: ") + e.what())});
  }
  return out;
}

std::string ManifestLine(const InputFile& input) {
  const std::string& p = input.path;
  if (NameForFile(p, Origin::kManifest) == input.relative_stem) return p;
  const std::string tail = input.relative_stem + fs::path(p).extension().string();
  if (p.size() > tail.size() && p.compare(p.size() - tail.size(), tail.size(), tail) == 0 &&
      p[p.size() - tail.size() - 1] == '/') {
    return p.substr(0, p.size() - tail.size()) + "./" + tail;
  }
  return p;  // not expressible (a name no path gives); the file is at least listed
}

Result<Shard> ParseShard(const std::string& text) {
  Shard s;
  char extra = 0;
  if (std::sscanf(text.c_str(), "%d/%d%c", &s.index, &s.count, &extra) != 2) {
    return InvalidArgumentError("--shard expects I/N, e.g. 0/4 (got '" + text + "')");
  }
  if (s.count < 1 || s.index < 0 || s.index >= s.count) {
    return InvalidArgumentError("--shard I/N needs 0 <= I < N (got '" + text + "')");
  }
  return s;
}

std::vector<InputFile> TakeShard(const std::vector<InputFile>& files, const Shard& shard) {
  std::vector<InputFile> kept;
  for (size_t i = 0; i < files.size(); ++i) {
    if (static_cast<int>(i % static_cast<size_t>(shard.count)) == shard.index) kept.push_back(files[i]);
  }
  return kept;
}

}  // namespace crepe::client
