#include "progress_line.h"

#include <unistd.h>

#include <cstdio>

namespace crepe::cli {

ProgressLine::ProgressLine(bool enabled) : enabled_(enabled), terminal_(isatty(STDERR_FILENO) != 0) {}

bool ProgressLine::Due(std::chrono::steady_clock::time_point now) const {
  // Terminals get a live line; logs get a line every ten seconds at most.
  const auto interval = terminal_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(10000);
  return now - last_ >= interval;
}

void ProgressLine::Draw(const std::string& text, std::chrono::steady_clock::time_point now) {
  last_ = now;
  std::fprintf(stderr, "%s%s%s", terminal_ ? "\r\033[K" : "", text.c_str(), terminal_ ? "" : "\n");
  dirty_ = terminal_;
}

void ProgressLine::Update(const std::string& label, int64_t done, int64_t total) {
  if (!enabled_ || total <= 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (done < total && !Due(now)) return;
  if (!terminal_ && done == total) return;  // the file's closing line follows
  char counts[96];
  std::snprintf(counts, sizeof counts, " %5.1f%% (%lld/%lld frames)",
                100.0 * static_cast<double>(done) / static_cast<double>(total), static_cast<long long>(done),
                static_cast<long long>(total));
  Draw(label + counts, now);
}

void ProgressLine::Show(const std::string& text, bool force) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && !Due(now)) return;
  Draw(text, now);
}

void ProgressLine::Finish(const std::string& message) {
  if (!enabled_) return;
  std::fprintf(stderr, "%s%s\n", dirty_ ? "\r\033[K" : "", message.c_str());
  dirty_ = false;
}

void ProgressLine::Clear() {
  if (dirty_) std::fputs("\r\033[K", stderr);
  dirty_ = false;
}

}  // namespace crepe::cli
