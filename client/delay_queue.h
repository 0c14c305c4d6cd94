// One thread that holds tasks until they are due, then posts them to a ThreadPool: back-off
// before a retry and waits for a cooling-down server happen here, so no thread is parked per
// waiting request.
// Thread-safe: PostAt from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "crepe/thread_pool.h"

namespace crepe::client {

class DelayQueue {
 public:
  using Clock = std::chrono::steady_clock;

  explicit DelayQueue(ThreadPool& workers);
  ~DelayQueue();  // drops the tasks not yet due
  DelayQueue(const DelayQueue&) = delete;
  DelayQueue& operator=(const DelayQueue&) = delete;

  // Posts `task` to the workers at `when` (at once if that has passed).
  void PostAt(Clock::time_point when, std::function<void()> task);

 private:
  void Run();

  ThreadPool& workers_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::multimap<Clock::time_point, std::function<void()>> waiting_;  // equal times keep their order
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace crepe::client
