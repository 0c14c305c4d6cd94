// A one-line progress display on stderr for long jobs: rewritten in place on a terminal, an
// occasional plain line in a log.
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
  // Any status text; shown at most a few times per second on a terminal, every ten seconds in a
  // log. `force` shows it regardless (e.g. a final state).
  void Show(const std::string& text, bool force = false);
  // Ends the current line with a final message (or prints a message above the live line).
  void Finish(const std::string& message);
  // Erases the live line so that something else can be printed (it is redrawn on the next Show).
  void Clear();

  bool enabled() const { return enabled_; }

 private:
  // Whether enough time has passed since the last line to draw another.
  bool Due(std::chrono::steady_clock::time_point now) const;
  void Draw(const std::string& text, std::chrono::steady_clock::time_point now);

  bool enabled_;
  bool terminal_;
  bool dirty_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace crepe::cli
