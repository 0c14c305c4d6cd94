// crepe-server's log lines: "2026-12-01T10:00:00.123 info <message>" (text), or one JSON object per
// line for log collectors (json): {"time":"2026-12-01T10:00:00.123+00:00","level":"info","msg":"..."},
// the message escaped as JSON. Set once by main() before any other thread logs.
#pragma once

#include <string>

#include "crepe/status.h"

namespace crepe::server {

// `level`: trace, debug, info, warn, error; `format`: text or json.
Status ConfigureLogging(const std::string& level, const std::string& format);

// `text` as the inside of a JSON string: quotes, backslashes and control characters escaped,
// bytes that are not valid UTF-8 as \u00XX (Latin-1), so that every line parses.
std::string JsonEscape(const std::string& text);

}  // namespace crepe::server
