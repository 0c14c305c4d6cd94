// The server's periodic chores, on one background thread:
// - ends streams that have been waiting on their client (for a message, or for it to read what
//   was sent) for longer than the idle timeout;
// - gives memory freed after a burst back to the system (glibc keeps freed heap otherwise): once
//   the server has had no call for a second, and every ten seconds while calls come and go.
// Thread-safe: Watch/Unwatch from any thread that holds no watched stream's lock; OnIdle is called
// from the housekeeper's thread, with the housekeeper's lock held, and must not block.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

namespace crepe::server {

// A stream's idle clock: when it started waiting on its client (0: not waiting).
class IdleWatched {
 public:
  virtual ~IdleWatched() = default;
  // Housekeeper thread: the stream has waited on its client for `idle_s` seconds.
  virtual void OnIdle(double idle_s) = 0;

  void StartWaiting() { waiting_since_ns_.store(Now(), std::memory_order_relaxed); }
  void StopWaiting() { waiting_since_ns_.store(0, std::memory_order_relaxed); }
  // Seconds waited so far (0 when not waiting).
  double waited_s() const {
    const int64_t since = waiting_since_ns_.load(std::memory_order_relaxed);
    return since == 0 ? 0.0 : static_cast<double>(Now() - since) * 1e-9;
  }

 private:
  static int64_t Now() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  std::atomic<int64_t> waiting_since_ns_{0};
};

class Housekeeper {
 public:
  // idle_timeout_s 0: streams never time out. active_calls: how many calls are in progress.
  Housekeeper(double idle_timeout_s, std::function<int()> active_calls);
  ~Housekeeper();  // stops the thread
  Housekeeper(const Housekeeper&) = delete;
  Housekeeper& operator=(const Housekeeper&) = delete;

  void Watch(IdleWatched* stream);
  void Unwatch(IdleWatched* stream);
  int64_t trims() const { return trims_.load(); }

 private:
  void Loop();
  const double idle_timeout_s_;
  const std::function<int()> active_calls_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::set<IdleWatched*> watched_;
  bool stopping_ = false;
  std::atomic<int64_t> trims_{0};
  std::thread thread_;
};

}  // namespace crepe::server
