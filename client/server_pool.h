// The servers a bulk run spreads its requests over. Each request takes the least busy server
// that is not cooling down; a server that answers UNAVAILABLE (down, starting, or shutting
// down) cools down for a while, longer each time, and is tried again afterwards.
// Thread-safe; never blocks: while every server cools down, TryAcquire says when to try again.
#pragma once

#include <grpcpp/security/credentials.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "crepe/status.h"
#include "crepe/v1/pitch.grpc.pb.h"

namespace crepe::client {

class ServerPool {
 public:
  using Clock = std::chrono::steady_clock;

  ServerPool(const std::vector<std::string>& addresses,
             const std::shared_ptr<grpc::ChannelCredentials>& credentials = grpc::InsecureChannelCredentials());

  struct Lease {
    size_t index = 0;
    const std::string* address = nullptr;
    v1::PitchService::Stub* stub = nullptr;
    Clock::time_point acquired_at{};
  };
  // A server for one request (give it back with Release), or none while every server is
  // cooling down: then `retry_at` is when the first of them is due again.
  std::optional<Lease> TryAcquire(Clock::time_point* retry_at);
  // Reports how the request went: UNAVAILABLE starts or extends the server's cool-down (1 s,
  // doubling to 30 s); any other outcome means the server is up.
  void Release(const Lease& lease, const Status& outcome);

 private:
  struct Server {
    std::string address;
    std::unique_ptr<v1::PitchService::Stub> stub;
    int in_flight = 0;
    int failures = 0;  // consecutive UNAVAILABLEs
    Clock::time_point cooling_since{};
    Clock::time_point cool_until{};
  };

  std::mutex mutex_;
  std::vector<Server> servers_;
  size_t next_ = 0;  // round-robin start, so equally busy servers take turns
};

}  // namespace crepe::client
