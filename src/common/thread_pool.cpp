#include "crepe/thread_pool.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

namespace crepe {

ThreadPool::ThreadPool(int threads) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_all();
  for (auto& t : threads_) t.join();
}

void ThreadPool::Post(std::function<void()> task, Lane lane) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    (lane == Lane::kAhead ? ahead_ : tasks_).push_back(std::move(task));
    high_water_ = std::max(high_water_, ahead_.size() + tasks_.size());
  }
  ready_.notify_one();
}

size_t ThreadPool::high_water() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return high_water_;
}

void ThreadPool::Work() {
  while (true) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      ready_.wait(lock, [&] { return stopping_ || !ahead_.empty() || !tasks_.empty(); });
      std::deque<std::function<void()>>& lane = ahead_.empty() ? tasks_ : ahead_;
      if (lane.empty()) return;  // stopping, and nothing left
      task = std::move(lane.front());
      lane.pop_front();
    }
    try {
      task();
    } catch (const std::exception& e) {  // a task must never take the server down
      spdlog::error("worker task failed: {}", e.what());
    }
  }
}

}  // namespace crepe
