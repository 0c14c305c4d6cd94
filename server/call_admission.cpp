#include "call_admission.h"

#include <utility>

#include "error_reasons.h"

namespace crepe::server {

std::string PeerKey(const std::string& peer) {
  const bool v4 = peer.rfind("ipv4:", 0) == 0;
  const bool v6 = peer.rfind("ipv6:", 0) == 0;
  if (!v4 && !v6) return peer;
  const size_t colon = peer.rfind(':');
  if (colon == std::string::npos || colon <= 5) return peer;
  std::string host = peer.substr(0, colon);
  // gRPC writes the brackets of an IPv6 address percent-encoded in some versions.
  for (auto [from, to] : {std::pair<const char*, const char*>{"%5B", "["}, {"%5D", "]"}}) {
    for (size_t at = host.find(from); at != std::string::npos; at = host.find(from)) host.replace(at, 3, to);
  }
  return host;
}

CallAdmission::Ticket& CallAdmission::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    Release();
    owner_ = std::exchange(other.owner_, nullptr);
    peer_ = std::move(other.peer_);
  }
  return *this;
}

void CallAdmission::Ticket::Release() {
  if (owner_ != nullptr) std::exchange(owner_, nullptr)->Release(peer_);
}

Result<CallAdmission::Ticket> CallAdmission::Admit(const std::string& peer_key) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (active_ >= max_calls_) {
    return ResourceExhaustedError("the server is handling " + std::to_string(max_calls_) +
                                  " calls already (--max-requests); retry later")
        .WithReason(reasons::kTooManyCalls);
  }
  int& mine = per_peer_[peer_key];
  if (mine >= max_per_peer_) {
    return ResourceExhaustedError("this client (" + peer_key + ") has " + std::to_string(max_per_peer_) +
                                  " calls in progress already, the most one peer may have "
                                  "(--max-requests-per-peer); retry when one has finished")
        .WithReason(reasons::kPeerCallLimit);
  }
  mine += 1;
  active_ += 1;
  Ticket t;
  t.owner_ = this;
  t.peer_ = peer_key;
  return Result<Ticket>(std::move(t));
}

void CallAdmission::Release(const std::string& peer_key) {
  std::lock_guard<std::mutex> lock(mutex_);
  active_ -= 1;
  auto it = per_peer_.find(peer_key);
  if (it != per_peer_.end() && --it->second <= 0) per_peer_.erase(it);
}

int CallAdmission::active() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return active_;
}

int CallAdmission::active_for(const std::string& peer_key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = per_peer_.find(peer_key);
  return it == per_peer_.end() ? 0 : it->second;
}

}  // namespace crepe::server
