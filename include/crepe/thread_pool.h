// A fixed set of worker threads running posted tasks in order of posting, with a second lane that
// goes ahead of it. crepe-server prepares frames, decodes, post-processes and encodes answers on
// one, so that neither gRPC's threads nor a batcher ever wait on that work, and posts live streams'
// work in the ahead lane, so that it waits for at most the tasks already running, never behind a
// queue of bulk calls' resampling; crepe-client reads files and writes outputs on one, with as
// many threads whatever the number of requests in flight.
//
// The queue has no limit of its own: its users bound it by construction (the server posts at
// most one task per call's strand at a time, and one start-up task per call; see
// server/strand.h). high_water() reports the longest the queue has been.
// Thread-safe: Post from any thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace crepe {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();  // runs what is queued, then joins
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // kAhead tasks run before every kNormal task still queued (each lane in order of posting). Its
  // users keep the ahead lane's work small (live streams' work arrives at real-time pace), so the
  // normal lane is delayed, not starved.
  enum class Lane { kNormal, kAhead };

  // `task` must not throw (a throw is logged and swallowed, never taking a worker down).
  void Post(std::function<void()> task, Lane lane = Lane::kNormal);
  size_t high_water() const;  // the most tasks queued at once, both lanes together

 private:
  void Work();
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> ahead_;
  std::deque<std::function<void()>> tasks_;
  size_t high_water_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace crepe
