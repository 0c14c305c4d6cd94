// The process's own figures, as Prometheus' client libraries name them (process_*), read from
// /proc/self on Linux. Fields are -1 where they cannot be read.
#pragma once

#include <cstdint>

namespace crepe::server {

struct ProcessStats {
  int64_t resident_bytes = -1;
  int64_t virtual_bytes = -1;
  double cpu_seconds = -1;         // user + system
  double start_time_seconds = -1;  // since the Unix epoch
  int64_t open_fds = -1;
  int64_t threads = -1;
};

ProcessStats ReadProcessStats();

}  // namespace crepe::server
