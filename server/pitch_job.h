// One request's pipeline on the server: the core's PitchSession, fed by the call, drained by a
// model's batcher, decoded on the worker pool, and answered through a JobSink (the call's
// reactor). Used the same way by unary and streaming calls, so both give the same results.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "crepe/audio.h"
#include "crepe/pitch_session.h"
#include "crepe/prediction.h"
#include "crepe/status.h"
#include "frame_batcher.h"
#include "thread_pool.h"

namespace crepe::server {

struct JobSummary {
  std::string id;
  std::string model;
  int64_t frames = 0;
  double audio_seconds = 0;
  double queue_ms = 0;    // longest wait of the request's frames for a batch
  double compute_ms = 0;  // the request's share of network time
  double total_ms = 0;
};

// Implemented by a call's reactor. Calls never overlap, come in order, and end with exactly one
// OnFinished.
class JobSink {
 public:
  virtual ~JobSink() = default;
  virtual void OnResults(Prediction rows, int64_t first_frame) = 0;
  virtual void OnFinished(const Status& status, const JobSummary& summary) = 0;
  // The job has room for more audio (streams read their next message only then).
  virtual void OnReadyForAudio() {}
};

// Lets a reactor leave (gRPC deletes it when the call is over) while work for it is still
// queued: calls through a detached handle go nowhere.
class SinkHandle {
 public:
  explicit SinkHandle(JobSink* sink) : sink_(sink) {}
  void Detach() {
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    sink_ = nullptr;
  }
  template <typename F>
  void With(F&& f) {
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    if (sink_ != nullptr) f(*sink_);
  }

 private:
  std::recursive_mutex mutex_;  // a sink may finish its call, and gRPC end it, inside With()
  JobSink* sink_;
};

class PitchJob : public FrameSource, public std::enable_shared_from_this<PitchJob> {
 public:
  // Frames handed to the network but not yet back, above which a stream stops reading.
  static constexpr int64_t kMaxFramesInFlight = 8192;

  static Result<std::shared_ptr<PitchJob>> Make(const SessionConfig& config, std::string id, std::string model,
                                                FrameBatcher& batcher, ThreadPool& pool,
                                                std::shared_ptr<SinkHandle> sink);

  // From the call (any thread): the work is done on the pool, in order.
  void PushAudio(AudioBuffer chunk);
  void EndOfAudio();
  void Cancel(const Status& why);

  // FrameSource (the batcher's thread).
  bool Cancelled() const override { return done_.load(); }
  bool WantsEmbeddings() const override { return wants_embeddings_; }
  int64_t TakeFrames(float* out, int64_t max_frames, int64_t* first) override;
  void OnNetworkOutput(NetworkOutput output) override;
  void OnNetworkError(const Status& status) override;

  // Frames of the whole clip, known after EndOfAudio (-1 before).
  int64_t total_frames() const;

 private:
  PitchJob(std::unique_ptr<PitchSession> session, std::string id, std::string model, FrameBatcher& batcher,
           ThreadPool& pool, std::shared_ptr<SinkHandle> sink, bool wants_embeddings);
  // Runs `task` on the pool after every task posted before it: a job's work happens in order
  // (two chunks of a stream must never be pushed the other way round).
  void Serially(std::function<void()> task);
  void DrainTasks();
  // With mutex_ held:
  void AnnounceLocked();
  void DeliverLocked();
  void FinishLocked(const Status& status);
  void MaybeAskForAudioLocked();

  mutable std::mutex mutex_;
  std::unique_ptr<PitchSession> session_;
  FrameBatcher& batcher_;
  ThreadPool& pool_;
  std::shared_ptr<SinkHandle> sink_;
  const bool wants_embeddings_;
  std::atomic<bool> done_{false};
  int64_t announced_total_ = 0;
  int64_t received_ = 0;
  std::mutex tasks_mutex_;
  std::deque<std::function<void()>> tasks_;
  bool draining_ = false;
  std::map<int64_t, NetworkOutput> early_outputs_;  // outputs that overtook earlier ones
  JobSummary summary_;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace crepe::server
