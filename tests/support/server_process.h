// Programs the service tests run as child processes: crepe-server on a free local port (waited
// for until it reports SERVING), and any other command that a test needs to signal or time.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace crepe::test {

// A child process with its output going to a file.
class ChildProcess {
 public:
  // Starts argv[0] (a path) with `argv`; stdout and stderr go to `log_path`. Null on failure
  // (the reason in `error`).
  static std::unique_ptr<ChildProcess> Start(const std::vector<std::string>& argv, const std::string& log_path,
                                             std::string* error);
  ~ChildProcess();  // SIGKILLs and reaps a child still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool Signal(int sig);
  // Whether it is still running (reaps it if it has exited).
  bool Running();
  // Waits up to timeout_s for it to exit: its exit code, 128 + the signal that ended it, or -1
  // if it is still running.
  int WaitExit(double timeout_s = 60);
  std::string Log() const;  // what it has printed so far

 private:
  ChildProcess(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}
  bool Reap(bool block);

  pid_t pid_;
  std::string log_path_;
  bool exited_ = false;
  int exit_code_ = -1;
};

// build/server/crepe-server listening on 127.0.0.1 (a port it picks), with the fetched weights.
class ServerProcess {
 public:
  // Starts it with --listen 127.0.0.1:0 --port-file <temp> --models-dir <weights folder> and
  // `extra_args`, then waits up to timeout_s until grpc.health.v1 says SERVING (or, without
  // `wait_for_serving`, only until it listens). Null on failure, with the reason and the server's
  // log in `error`.
  static std::unique_ptr<ServerProcess> Start(const std::vector<std::string>& extra_args, std::string* error,
                                              double timeout_s = 180, bool wait_for_serving = true);
  ~ServerProcess();  // kills it if it is still running, removes its temporary folder

  const std::string& address() const { return address_; }  // "127.0.0.1:PORT"
  int port() const { return port_; }
  pid_t pid() const { return child_->pid(); }
  bool Signal(int sig) { return child_->Signal(sig); }
  int WaitExit(double timeout_s = 60) { return child_->WaitExit(timeout_s); }
  std::string Log() const { return child_->Log(); }
  // Its resident memory (VmRSS), in bytes; -1 once it has exited.
  int64_t ResidentBytes() const;

 private:
  ServerProcess() = default;
  std::unique_ptr<ChildProcess> child_;
  std::string dir_;
  std::string address_;
  int port_ = 0;
};

// Whether a gRPC server at `address` answers the standard health check (service "") with
// SERVING within timeout_s.
bool HealthServing(const std::string& address, double timeout_s = 2);

// A local TCP port that nothing listens on (bound, then released).
int UnusedPort();

}  // namespace crepe::test
