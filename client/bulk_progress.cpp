#include "bulk_progress.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace crepe::client {

std::string FormatDuration(double seconds) {
  const long long s = std::llround(std::max(0.0, seconds));
  char text[32];
  std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  return text;
}

BulkProgress::BulkProgress(bool show_progress, size_t to_process, size_t skipped, int64_t total_bytes)
    : line_(show_progress),
      start_(std::chrono::steady_clock::now()),
      to_process_(to_process),
      skipped_(skipped),
      total_bytes_(total_bytes) {}

double BulkProgress::Elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void BulkProgress::Succeeded(int64_t bytes, double audio_seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++succeeded_;
  bytes_done_ += bytes;
  audio_seconds_ += audio_seconds;
}

void BulkProgress::Failed(int64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++failed_;
  bytes_done_ += bytes;
}

void BulkProgress::Print(const std::string& text) {
  std::lock_guard<std::mutex> lock(mutex_);
  line_.Clear();
  std::fprintf(stderr, "%s\n", text.c_str());
}

std::string BulkProgress::StatusText() const {
  const double elapsed = Elapsed();
  char text[256];
  std::snprintf(text, sizeof text, "[%zu/%zu files] %.2f h of audio, %.1fx real time", succeeded_ + failed_,
                to_process_, audio_seconds_ / 3600, elapsed > 0 ? audio_seconds_ / elapsed : 0.0);
  std::string out = text;
  // Bytes are the best early guess of the work left: files differ in length, not in bytes per second.
  if (bytes_done_ > 0 && total_bytes_ > bytes_done_) {
    out += ", ETA " +
           FormatDuration(elapsed * static_cast<double>(total_bytes_ - bytes_done_) / static_cast<double>(bytes_done_));
  }
  if (failed_ > 0) out += ", " + std::to_string(failed_) + " failed";
  return out;
}

void BulkProgress::Redraw(bool force) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (line_.enabled()) line_.Show(StatusText(), force);
}

void BulkProgress::Summarise(size_t listing_failures) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!line_.enabled()) return;
  line_.Clear();
  const double elapsed = Elapsed();
  std::fprintf(stderr,
               "crepe-client: %zu processed, %zu skipped (already done), %zu failed; %.2f h of audio in %s "
               "(%.1fx real time)\n",
               succeeded_, skipped_, failed_ + listing_failures, audio_seconds_ / 3600, FormatDuration(elapsed).c_str(),
               elapsed > 0 ? audio_seconds_ / elapsed : 0.0);
}

}  // namespace crepe::client
