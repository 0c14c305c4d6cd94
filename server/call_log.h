// The one log line every call gets when it ends, refused or not, and the escaping that keeps
// caller-supplied text (request ids) from forging log lines.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "crepe/status.h"
#include "pitch_job.h"

namespace crepe::server {

// `text` with printable ASCII kept except '"' and '\' (escaped), everything else as \xNN, cut to
// `max_bytes` of input (then "..." follows).
std::string EscapeForLog(std::string_view text, size_t max_bytes = 128);

struct CallRecord {
  const char* method = "";  // "Predict", "StreamPredict"
  std::string id;           // as given (escaped when logged)
  std::string peer;
  std::string model;  // empty until known
  const char* priority = "";
  JobSummary summary;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  Status outcome;       // what the client was told (CANCELLED etc. when the call was cut short)
  std::string because;  // who or what ended a call cut short ("the client cancelled", ...)
};

// "request "r12" Predict peer=ipv4:127.0.0.1 priority=bulk model=tiny frames=1001 audio_s=10.00
//  queue_ms=2.1 compute_ms=310.4 total_ms=402.7 -> OK", at info level (warn for server faults).
void LogCall(const CallRecord& record);

}  // namespace crepe::server
