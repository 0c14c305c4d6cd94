// A TCP relay on loopback that reaches a server from another source address (127.0.0.2 by
// default): a client that connects to the relay looks to the server like a different host. The
// service tests use it to check per-client limits without a second machine.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

namespace crepe::test {

class SourceRelay {
 public:
  // Listens on 127.0.0.1 (a free port) and forwards every connection to 127.0.0.1:target_port
  // from `source_ip`. Null when the sockets cannot be set up (the reason in `error`).
  static std::unique_ptr<SourceRelay> Start(int target_port, std::string* error,
                                            const std::string& source_ip = "127.0.0.2");
  ~SourceRelay();
  SourceRelay(const SourceRelay&) = delete;
  SourceRelay& operator=(const SourceRelay&) = delete;

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  SourceRelay() = default;
  void Serve();
  int listener_ = -1;
  int port_ = 0;
  int target_port_ = 0;
  std::string source_ip_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace crepe::test
