#include "call_log.h"

#include <spdlog/spdlog.h>

#include <cstdio>

namespace crepe::server {

std::string EscapeForLog(std::string_view text, size_t max_bytes) {
  std::string out;
  const size_t n = std::min(text.size(), max_bytes);
  out.reserve(n + 8);
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  if (text.size() > max_bytes) out += "...";
  return out;
}

void LogCall(const CallRecord& r) {
  const double total_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - r.started).count();
  std::string outcome = r.outcome.ok() ? "OK" : r.outcome.ToString();
  if (!r.because.empty()) outcome += " (" + r.because + ")";
  const bool fault = r.outcome.code() == StatusCode::kInternal || r.outcome.code() == StatusCode::kDataLoss;
  spdlog::log(fault ? spdlog::level::warn : spdlog::level::info,
              "request \"{}\" {} peer={} priority={} model={} frames={} audio_s={:.2f} queue_ms={:.1f} "
              "compute_ms={:.1f} total_ms={:.1f} -> {}",
              EscapeForLog(r.id), r.method, EscapeForLog(r.peer), r.priority, r.model.empty() ? "-" : r.model,
              r.summary.frames, r.summary.audio_seconds, r.summary.queue_ms, r.summary.compute_ms, total_ms,
              EscapeForLog(outcome, 1024));
}

}  // namespace crepe::server
