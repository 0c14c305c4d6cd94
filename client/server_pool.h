// The servers a bulk run spreads its requests over. Each request takes the least busy server
// that is not cooling down; a server that answers UNAVAILABLE (down, starting, or shutting
// down) cools down for a while, longer each time, and is tried again afterwards.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "crepe/status.h"
#include "crepe/v1/pitch.grpc.pb.h"

namespace crepe::client {

class ServerPool {
 public:
  explicit ServerPool(const std::vector<std::string>& addresses);

  struct Lease {
    size_t index = 0;
    const std::string* address = nullptr;
    v1::PitchService::Stub* stub = nullptr;
    std::chrono::steady_clock::time_point acquired_at{};
  };
  // A server for one request; waits while every server is cooling down (at most until the
  // first of them is due again). Give it back with Release.
  Lease Acquire();
  // Reports how the request went: UNAVAILABLE starts or extends the server's cool-down (1 s,
  // doubling to 30 s); any other outcome means the server is up.
  void Release(const Lease& lease, const Status& outcome);

  size_t size() const { return servers_.size(); }

 private:
  using Clock = std::chrono::steady_clock;
  struct Server {
    std::string address;
    std::unique_ptr<v1::PitchService::Stub> stub;
    int in_flight = 0;
    int failures = 0;  // consecutive UNAVAILABLEs
    Clock::time_point cooling_since{};
    Clock::time_point cool_until{};
  };

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Server> servers_;
  size_t next_ = 0;  // round-robin start, so equally busy servers take turns
};

}  // namespace crepe::client
