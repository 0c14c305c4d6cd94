#include "process_stats.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace crepe::server {
namespace {

// Seconds since the epoch at which the machine booted (/proc/stat's btime).
double BootTimeSeconds() {
  std::ifstream stat("/proc/stat");
  std::string key;
  double value = 0;
  while (stat >> key) {
    if (key == "btime" && stat >> value) return value;
    stat.ignore(1 << 20, '\n');
  }
  return -1;
}

int64_t CountEntries(const char* dir) {
  DIR* d = ::opendir(dir);
  if (d == nullptr) return -1;
  int64_t n = 0;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n;
}

}  // namespace

ProcessStats ReadProcessStats() {
  ProcessStats s;
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  {
    std::ifstream statm("/proc/self/statm");
    double size = 0, resident = 0;
    if (statm >> size >> resident) {
      s.virtual_bytes = static_cast<int64_t>(size * page);
      s.resident_bytes = static_cast<int64_t>(resident * page);
    }
  }
  {
    // /proc/self/stat: "pid (comm) state ..." where comm may hold spaces; fields after it.
    std::ifstream stat("/proc/self/stat");
    std::string line;
    std::getline(stat, line);
    const size_t close = line.rfind(')');
    if (close != std::string::npos) {
      std::istringstream rest(line.substr(close + 2));
      std::string field;
      // From the state (field 3): utime is field 14, stime 15, num_threads 20, starttime 22.
      double utime = -1, stime = -1, threads = -1, start = -1;
      for (int i = 3; i <= 22 && rest >> field; ++i) {
        if (i == 14) utime = std::stod(field);
        if (i == 15) stime = std::stod(field);
        if (i == 20) threads = std::stod(field);
        if (i == 22) start = std::stod(field);
      }
      if (utime >= 0 && stime >= 0) s.cpu_seconds = (utime + stime) / ticks;
      if (threads >= 0) s.threads = static_cast<int64_t>(threads);
      const double boot = BootTimeSeconds();
      if (start >= 0 && boot >= 0) s.start_time_seconds = boot + start / ticks;
    }
  }
  s.open_fds = CountEntries("/proc/self/fd");
  return s;
}

}  // namespace crepe::server
