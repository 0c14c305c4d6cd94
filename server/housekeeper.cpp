#include "housekeeper.h"

#include <malloc.h>

#include <utility>

namespace crepe::server {

Housekeeper::Housekeeper(double idle_timeout_s, std::function<int()> active_calls)
    : idle_timeout_s_(idle_timeout_s), active_calls_(std::move(active_calls)) {
  thread_ = std::thread([this] { Loop(); });
}

Housekeeper::~Housekeeper() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void Housekeeper::Watch(IdleWatched* stream) {
  std::lock_guard<std::mutex> lock(mutex_);
  watched_.insert(stream);
}

void Housekeeper::Unwatch(IdleWatched* stream) {
  std::lock_guard<std::mutex> lock(mutex_);
  watched_.erase(stream);
}

void Housekeeper::Loop() {
  using Clock = std::chrono::steady_clock;
  constexpr auto kTick = std::chrono::milliseconds(200);
  constexpr auto kIdleBeforeTrim = std::chrono::seconds(1);
  constexpr auto kTrimWhileBusy = std::chrono::seconds(10);
  auto last_trim = Clock::now();
  auto idle_since = Clock::now();
  bool worked_since_trim = false;
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, kTick, [&] { return stopping_; });
    if (stopping_) break;
    if (idle_timeout_s_ > 0) {
      for (IdleWatched* stream : watched_) {
        const double waited = stream->waited_s();
        if (waited > idle_timeout_s_) stream->OnIdle(waited);
      }
    }
    const auto now = Clock::now();
    const bool busy = active_calls_() > 0;
    if (busy) {
      worked_since_trim = true;
      idle_since = now;
    }
    const bool settled = !busy && now - idle_since >= kIdleBeforeTrim;
    if (worked_since_trim && (settled || now - last_trim >= kTrimWhileBusy)) {
      lock.unlock();  // trimming takes the allocator's locks, not ours
      malloc_trim(0);
      lock.lock();
      trims_ += 1;
      last_trim = now;
      worked_since_trim = busy;
    }
  }
}

}  // namespace crepe::server
