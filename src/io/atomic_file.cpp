// Atomic file output: write a uniquely named temporary beside the target, fsync it, rename it over
// the target, fsync the directory. Readers see either the old file or the complete new one.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <new>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "crepe/file_io.h"

namespace crepe {
namespace {

namespace fs = std::filesystem;

Status ErrnoStatus(int error, const std::string& what) {
  const std::string message = what + ": " + std::strerror(error);
  if (error == ENOSPC || error == EDQUOT) return ResourceExhaustedError(message);
  return FailedPreconditionError(message);
}

// A name no other writer (thread or process) picks at the same moment; O_EXCL guards the rest.
std::string TemporaryName(const fs::path& target) {
  static std::atomic<uint64_t> counter{0};
  const uint64_t ticks = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  const uint64_t mix = (ticks * 0x9E3779B97F4A7C15ULL) ^ (counter.fetch_add(1) * 0xBF58476D1CE4E5B9ULL);
  char suffix[64];
  std::snprintf(suffix, sizeof suffix, ".tmp-%ld-%016llx", static_cast<long>(::getpid()),
                static_cast<unsigned long long>(mix));
  return "." + target.filename().string() + suffix;
}

class TemporaryFile {
 public:
  ~TemporaryFile() { Discard(); }

  Status Create(const fs::path& directory, const fs::path& target) {
    for (int attempt = 0; attempt < 100; ++attempt) {
      path_ = directory / TemporaryName(target);
      fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd_ >= 0) return Status::Ok();
      if (errno != EEXIST) {
        const int error = errno;
        path_.clear();
        return ErrnoStatus(error, "cannot create a temporary file in '" + directory.string() + "'");
      }
    }
    path_.clear();
    return InternalError("cannot find a free temporary file name in '" + directory.string() + "'");
  }

  Status Write(const std::string& contents) {
    const char* p = contents.data();
    size_t left = contents.size();
    while (left > 0) {
      const ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        const int error = errno;
        if (error == EINTR) continue;
        return ErrnoStatus(error, "cannot write '" + path_.string() + "'");
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    if (::fsync(fd_) != 0) {
      const int error = errno;
      return ErrnoStatus(error, "cannot flush '" + path_.string() + "' to disk");
    }
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) {
      const int error = errno;
      return ErrnoStatus(error, "cannot close '" + path_.string() + "'");
    }
    return Status::Ok();
  }

  Status RenameTo(const fs::path& target) {
    if (::rename(path_.c_str(), target.c_str()) != 0) {
      const int error = errno;
      return ErrnoStatus(error, "cannot rename '" + path_.string() + "' to '" + target.string() + "'");
    }
    path_.clear();  // it is the target now
    return Status::Ok();
  }

  void Discard() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!path_.empty()) ::unlink(path_.c_str());
    path_.clear();
  }

 private:
  fs::path path_;
  int fd_ = -1;
};

void SyncDirectory(const fs::path& directory) {
  // Makes the rename itself durable; best effort (some file systems refuse to fsync a directory).
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

fs::path DirectoryOf(const fs::path& target) {
  const fs::path directory = target.parent_path();
  return directory.empty() ? fs::path(".") : directory;
}

// Every file is written to its temporary first; only when all are complete are they renamed into
// place. A failure before the renames leaves every target as it was.
Status WriteFilesAtomicallyImpl(const std::vector<std::pair<std::string, std::string>>& files) {
  std::vector<std::unique_ptr<TemporaryFile>> temporaries;
  for (const auto& [path, contents] : files) {
    if (path.empty()) return InvalidArgumentError("empty output path");
    const fs::path target(path);
    if (!target.has_filename()) return InvalidArgumentError("output path '" + path + "' names a directory");
    const fs::path directory = DirectoryOf(target);
    std::error_code ec;
    // Caught here, before any rename, so that the group stays all or nothing.
    if (fs::is_directory(target, ec)) return FailedPreconditionError("output path '" + path + "' is a directory");
    fs::create_directories(directory, ec);
    if (ec) return FailedPreconditionError("cannot create directory '" + directory.string() + "': " + ec.message());
    temporaries.push_back(std::make_unique<TemporaryFile>());
    CREPE_RETURN_IF_ERROR(temporaries.back()->Create(directory, target));
    CREPE_RETURN_IF_ERROR(temporaries.back()->Write(contents));
  }
  for (size_t i = 0; i < files.size(); ++i) {
    const fs::path target(files[i].first);
    CREPE_RETURN_IF_ERROR(temporaries[i]->RenameTo(target));
    SyncDirectory(DirectoryOf(target));
  }
  return Status::Ok();
}

}  // namespace

Status WriteFilesAtomically(const std::vector<std::pair<std::string, std::string>>& files) {
  try {
    return WriteFilesAtomicallyImpl(files);
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory writing output files");
  } catch (const std::exception& e) {
    return InternalError(std::string("writing output files: ") + e.what());
  }
}

Status WriteFileAtomically(const std::string& path, const std::string& contents) {
  return WriteFilesAtomically({{path, contents}});
}

}  // namespace crepe
