#include "support/source_relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace crepe::test {
namespace {

sockaddr_in Loopback(const char* ip, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

// Copies what `from` has to `to`; false when `from` is closed or failed.
bool Forward(int from, int to) {
  char buffer[1 << 16];
  const ssize_t n = ::recv(from, buffer, sizeof buffer, 0);
  if (n <= 0) return false;
  for (ssize_t sent = 0; sent < n;) {
    const ssize_t k = ::send(to, buffer + sent, static_cast<size_t>(n - sent), MSG_NOSIGNAL);
    if (k <= 0) return false;
    sent += k;
  }
  return true;
}

}  // namespace

std::unique_ptr<SourceRelay> SourceRelay::Start(int target_port, std::string* error, const std::string& source_ip) {
  std::unique_ptr<SourceRelay> relay(new SourceRelay());
  relay->target_port_ = target_port;
  relay->source_ip_ = source_ip;
  relay->listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = Loopback("127.0.0.1", 0);
  socklen_t len = sizeof addr;
  if (relay->listener_ < 0 || ::bind(relay->listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(relay->listener_, 64) != 0 ||
      ::getsockname(relay->listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (error) *error = std::string("relay: cannot listen: ") + std::strerror(errno);
    return nullptr;
  }
  relay->port_ = ntohs(addr.sin_port);
  relay->thread_ = std::thread([r = relay.get()] { r->Serve(); });
  return relay;
}

SourceRelay::~SourceRelay() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  if (listener_ >= 0) ::close(listener_);
}

// One thread, poll(): the listener and every pair of connected sockets.
void SourceRelay::Serve() {
  std::vector<std::pair<int, int>> pairs;  // (client side, server side)
  while (!stopping_) {
    std::vector<pollfd> fds{{listener_, POLLIN, 0}};
    for (auto [c, s] : pairs) {
      fds.push_back({c, POLLIN, 0});
      fds.push_back({s, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), 100) <= 0) continue;
    const size_t polled = pairs.size();  // a pair accepted below was not polled yet
    if (fds[0].revents & POLLIN) {
      const int client = ::accept(listener_, nullptr, nullptr);
      const int upstream = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in source = Loopback(source_ip_.c_str(), 0);
      sockaddr_in target = Loopback("127.0.0.1", target_port_);
      if (client >= 0 && upstream >= 0 && ::bind(upstream, reinterpret_cast<sockaddr*>(&source), sizeof source) == 0 &&
          ::connect(upstream, reinterpret_cast<sockaddr*>(&target), sizeof target) == 0) {
        pairs.emplace_back(client, upstream);
      } else {
        if (client >= 0) ::close(client);
        if (upstream >= 0) ::close(upstream);
      }
    }
    std::vector<std::pair<int, int>> alive(pairs.begin() + static_cast<std::ptrdiff_t>(polled), pairs.end());
    for (size_t i = 0; i < polled; ++i) {
      const short from_client = fds[1 + 2 * i].revents, from_server = fds[2 + 2 * i].revents;
      bool ok = true;
      if (from_client & (POLLIN | POLLHUP | POLLERR)) ok = Forward(pairs[i].first, pairs[i].second);
      if (ok && (from_server & (POLLIN | POLLHUP | POLLERR))) ok = Forward(pairs[i].second, pairs[i].first);
      if (ok) {
        alive.push_back(pairs[i]);
      } else {
        ::close(pairs[i].first);
        ::close(pairs[i].second);
      }
    }
    pairs.swap(alive);
  }
  for (auto [c, s] : pairs) {
    ::close(c);
    ::close(s);
  }
}

}  // namespace crepe::test
