// Counting a bulk run's progress and saying it: the live line (files, audio hours, speed, ETA),
// messages printed above it, and the closing summary. Thread-safe: workers report, the main
// thread redraws.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>

#include "progress_line.h"

namespace crepe::client {

class BulkProgress {
 public:
  // `total_bytes`: input bytes still to process, to estimate the time left.
  BulkProgress(bool show_progress, size_t to_process, size_t skipped, int64_t total_bytes);

  void Succeeded(int64_t bytes, double audio_seconds);
  void Failed(int64_t bytes);
  // A line printed above the live line (errors and warnings: shown even when quiet).
  void Print(const std::string& line);
  // Redraws the live line (rate-limited unless `force`).
  void Redraw(bool force = false);
  // The closing summary line (unless quiet).
  void Summarise(size_t listing_failures);

 private:
  std::string StatusText() const;  // caller holds mutex_
  double Elapsed() const;

  mutable std::mutex mutex_;
  cli::ProgressLine line_;
  const std::chrono::steady_clock::time_point start_;
  const size_t to_process_;
  const size_t skipped_;
  const int64_t total_bytes_;
  size_t succeeded_ = 0;
  size_t failed_ = 0;
  int64_t bytes_done_ = 0;
  double audio_seconds_ = 0;
};

// "1:02:03" (hours not padded).
std::string FormatDuration(double seconds);

}  // namespace crepe::client
