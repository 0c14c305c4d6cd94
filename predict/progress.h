// A one-line progress display on stderr for long jobs (rewritten in place on a terminal).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace crepe::cli {

class ProgressLine {
 public:
  explicit ProgressLine(bool enabled);
  // Frames done of this file; shown at most a few times per second.
  void Update(const std::string& label, int64_t done, int64_t total);
  // Ends the current line with a final message.
  void Finish(const std::string& message);

 private:
  bool enabled_;
  bool terminal_;
  bool dirty_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace crepe::cli
