#include "progress.h"

#include <unistd.h>

#include <cstdio>

namespace crepe::cli {

ProgressLine::ProgressLine(bool enabled) : enabled_(enabled), terminal_(isatty(STDERR_FILENO) != 0) {}

void ProgressLine::Update(const std::string& label, int64_t done, int64_t total) {
  if (!enabled_ || total <= 0) return;
  const auto now = std::chrono::steady_clock::now();
  // Terminals get a live line; logs get a line every ten seconds at most.
  const auto interval = terminal_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(10000);
  if (done < total && now - last_ < interval) return;
  if (!terminal_ && done == total) return;  // the file's closing line follows
  last_ = now;
  std::fprintf(stderr, "%s%s %5.1f%% (%lld/%lld frames)%s", terminal_ ? "\r\033[K" : "", label.c_str(),
               100.0 * static_cast<double>(done) / static_cast<double>(total), static_cast<long long>(done),
               static_cast<long long>(total), terminal_ ? "" : "\n");
  dirty_ = terminal_;
}

void ProgressLine::Finish(const std::string& message) {
  if (!enabled_) return;
  std::fprintf(stderr, "%s%s\n", dirty_ ? "\r\033[K" : "", message.c_str());
  dirty_ = false;
}

}  // namespace crepe::cli
