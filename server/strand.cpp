#include "strand.h"

#include <exception>
#include <utility>

namespace crepe::server {

std::shared_ptr<Strand> Strand::Make(ThreadPool& pool, std::function<void(const std::string&)> on_exception,
                                     ThreadPool::Lane lane) {
  return std::shared_ptr<Strand>(new Strand(pool, std::move(on_exception), lane));
}

Strand::Strand(ThreadPool& pool, std::function<void(const std::string&)> on_exception, ThreadPool::Lane lane)
    : pool_(pool), lane_(lane), on_exception_(std::move(on_exception)) {}

void Strand::Post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    tasks_.push_back(std::move(task));
    if (scheduled_) return;
    scheduled_ = true;
  }
  pool_.Post([self = shared_from_this()] { self->Drain(); }, lane_);
}

size_t Strand::queued() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return tasks_.size();
}

// Runs what is queued, a few tasks per turn so that one busy strand cannot hold a worker while
// others wait; a task posted meanwhile is run by this same drain or its next turn, so two drains
// of one strand never overlap.
void Strand::Drain() {
  constexpr int kTasksPerTurn = 8;
  for (int done = 0;; ++done) {
    std::function<void()> task;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (tasks_.empty()) {
        scheduled_ = false;
        return;
      }
      if (done == kTasksPerTurn) break;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    try {
      task();
    } catch (const std::exception& e) {
      if (on_exception_) on_exception_(e.what());
    } catch (...) {
      if (on_exception_) on_exception_("unknown exception");
    }
  }
  pool_.Post([self = shared_from_this()] { self->Drain(); }, lane_);  // still scheduled: back of its lane
}

}  // namespace crepe::server
