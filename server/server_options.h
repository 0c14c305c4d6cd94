// crepe-server's settings, from flags or CREPE_* environment variables, with safe defaults.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace crepe::server {

struct ServerOptions {
  std::string listen = "127.0.0.1:50051";  // loopback unless told otherwise
  std::string port_file;                   // the bound port is written here once listening
  std::string device = "auto";             // auto (CUDA when present), cpu, cuda, cuda:N
  std::string models_dir;
  std::vector<std::string> models = {"tiny", "small", "medium", "large", "full"};
  int64_t max_batch = 0;  // frames per network call; 0 = 256 on CPU, 1024 on CUDA
  double batch_delay_ms = 2.0;
  int64_t max_queued_frames = 2'000'000;  // per model
  int max_message_mb = 64;
  int max_requests = 256;  // calls in progress at once
  int workers = 0;         // decoding threads; 0 = one per core
  double shutdown_grace_s = 30.0;
  std::string log_level = "info";
};

// Parses argv (flags override the environment). Returns the exit code to stop with (help, or
// a usage error already printed), or -1 to go on.
int ParseServerOptions(int argc, char** argv, ServerOptions& options);

}  // namespace crepe::server
