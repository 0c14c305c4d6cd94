// Which calls the server takes on: at most max_calls in progress in all, and at most
// max_calls_per_peer from any one peer (a client address, port aside), so that a handful of
// connections cannot take every slot. A refused call gets RESOURCE_EXHAUSTED with reason
// TOO_MANY_CALLS or PEER_CALL_LIMIT. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "crepe/status.h"

namespace crepe::server {

// "ipv4:10.0.0.7:51234" -> "ipv4:10.0.0.7"; "ipv6:[::1]:51234" (or %5B::1%5D) -> "ipv6:[::1]";
// anything else (unix sockets, unknown forms) as it is.
std::string PeerKey(const std::string& grpc_peer);

class CallAdmission {
 public:
  CallAdmission(int max_calls, int max_calls_per_peer) : max_calls_(max_calls), max_per_peer_(max_calls_per_peer) {}

  // Holds a slot while it lives.
  class Ticket {
   public:
    Ticket() = default;
    ~Ticket() { Release(); }
    Ticket(Ticket&& other) noexcept { *this = std::move(other); }
    Ticket& operator=(Ticket&& other) noexcept;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    void Release();

   private:
    friend class CallAdmission;
    CallAdmission* owner_ = nullptr;
    std::string peer_;
  };

  Result<Ticket> Admit(const std::string& peer_key);
  int active() const;
  int active_for(const std::string& peer_key) const;

 private:
  void Release(const std::string& peer_key);
  const int max_calls_;
  const int max_per_peer_;
  mutable std::mutex mutex_;
  int active_ = 0;
  std::map<std::string, int> per_peer_;
};

}  // namespace crepe::server
