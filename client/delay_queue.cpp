#include "delay_queue.h"

#include <vector>

namespace crepe::client {

DelayQueue::DelayQueue(ThreadPool& workers) : workers_(workers), thread_([this] { Run(); }) {}

DelayQueue::~DelayQueue() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void DelayQueue::PostAt(Clock::time_point when, std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    waiting_.emplace(when, std::move(task));
  }
  changed_.notify_all();
}

void DelayQueue::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (waiting_.empty()) {
      changed_.wait(lock);
      continue;
    }
    if (waiting_.begin()->first > Clock::now()) {
      changed_.wait_until(lock, waiting_.begin()->first);
      continue;
    }
    std::vector<std::function<void()>> due;
    const Clock::time_point now = Clock::now();
    while (!waiting_.empty() && waiting_.begin()->first <= now) {
      due.push_back(std::move(waiting_.begin()->second));
      waiting_.erase(waiting_.begin());
    }
    lock.unlock();
    for (std::function<void()>& task : due) workers_.Post(std::move(task));
    lock.lock();
  }
}

}  // namespace crepe::client
