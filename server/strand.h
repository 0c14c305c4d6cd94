// Runs the tasks posted to it one at a time, in the order posted, on a ThreadPool. State that
// only a strand's tasks touch needs no lock: one of them runs at a time, and each sees what the
// ones before it did. A call's PitchJob lives on its strand (see pitch_job.h).
// Thread-safe: Post from any thread; it never waits for a task (only for the mailbox's mutex,
// held for a push or a pop).
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "crepe/thread_pool.h"

namespace crepe::server {

class Strand : public std::enable_shared_from_this<Strand> {
 public:
  // `on_exception` runs on the strand, in place of a task that threw, with what it threw. `lane`:
  // the pool lane its turns are queued in (kAhead for live streams).
  static std::shared_ptr<Strand> Make(ThreadPool& pool, std::function<void(const std::string&)> on_exception,
                                      ThreadPool::Lane lane = ThreadPool::Lane::kNormal);
  Strand(const Strand&) = delete;
  Strand& operator=(const Strand&) = delete;

  void Post(std::function<void()> task);
  size_t queued() const;  // tasks waiting, for tests and bounds checks

 private:
  Strand(ThreadPool& pool, std::function<void(const std::string&)> on_exception, ThreadPool::Lane lane);
  void Drain();

  ThreadPool& pool_;
  const ThreadPool::Lane lane_;
  const std::function<void(const std::string&)> on_exception_;
  mutable std::mutex mutex_;
  std::deque<std::function<void()>> tasks_;
  bool scheduled_ = false;  // a Drain is queued on the pool or running
};

}  // namespace crepe::server
