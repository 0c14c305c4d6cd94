#include "server_pool.h"

#include <algorithm>

#include "channel.h"

namespace crepe::client {

ServerPool::ServerPool(const std::vector<std::string>& addresses,
                       const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
  for (const std::string& address : addresses) {
    Server s;
    s.address = address;
    s.stub = v1::PitchService::NewStub(MakeChannel(address, credentials));
    servers_.push_back(std::move(s));
  }
}

std::optional<ServerPool::Lease> ServerPool::TryAcquire(Clock::time_point* retry_at) {
  std::lock_guard<std::mutex> lock(mutex_);
  const Clock::time_point now = Clock::now();
  size_t best = servers_.size();
  Clock::time_point soonest = Clock::time_point::max();
  for (size_t k = 0; k < servers_.size(); ++k) {
    const size_t i = (next_ + k) % servers_.size();
    const Server& s = servers_[i];
    soonest = std::min(soonest, s.cool_until);
    if (s.cool_until > now) continue;
    if (best == servers_.size() || s.in_flight < servers_[best].in_flight) best = i;
  }
  if (best == servers_.size()) {
    *retry_at = soonest;
    return std::nullopt;
  }
  next_ = (best + 1) % servers_.size();
  Server& s = servers_[best];
  ++s.in_flight;
  return Lease{best, &s.address, s.stub.get(), now};
}

void ServerPool::Release(const Lease& lease, const Status& outcome) {
  std::lock_guard<std::mutex> lock(mutex_);
  Server& s = servers_[lease.index];
  --s.in_flight;
  if (outcome.code() == StatusCode::kUnavailable) {
    // Requests that were already under way when the server went down report it again; only a
    // request started after the last cool-down began says the server is still down.
    if (lease.acquired_at >= s.cooling_since) {
      s.failures = std::min(s.failures + 1, 6);
      s.cooling_since = Clock::now();
      s.cool_until = s.cooling_since +
                     std::min(std::chrono::milliseconds(1000 << (s.failures - 1)), std::chrono::milliseconds(30000));
    }
  } else {
    s.failures = 0;
    s.cool_until = Clock::time_point{};
  }
}

}  // namespace crepe::client
