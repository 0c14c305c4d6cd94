// A fixed set of worker threads running posted tasks in order of posting: the server prepares
// frames, decodes, post-processes and encodes answers here, so that neither gRPC's threads nor a
// batcher ever wait on that work.
//
// Bounded by construction rather than by refusal: every call's work reaches the pool through
// its Strand, which has at most one task queued here at a time, and the service posts at most
// one start-up task per call; so the queue holds at most two entries per admitted call
// (--max-requests). high_water() reports the longest the queue has been.
// Thread-safe: Post from any thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace crepe::server {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();  // runs what is queued, then joins
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // `task` must not throw (a throw is logged and swallowed, never taking a worker down).
  void Post(std::function<void()> task);
  size_t high_water() const;

 private:
  void Work();
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
  size_t high_water_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace crepe::server
