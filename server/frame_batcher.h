// One dynamic batcher per model: frames of every request using the model are pooled into
// batches of up to max_batch frames, run when a batch is full or when the oldest waiting frame
// has waited max_delay, and the outputs handed back to each request in order. The batcher only
// prepares frames and runs the network; decoding happens on the requests' side
// (FrameSource::OnNetworkOutput posts it elsewhere), so it never waits on them.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "crepe/model.h"
#include "crepe/status.h"

namespace crepe::server {

struct NetworkOutput {
  int64_t first = 0;
  int64_t count = 0;
  std::vector<float> activations;  // count x 360
  std::vector<float> embeddings;   // count x 32 x width, when asked for
  double queue_ms = 0;             // how long the oldest of these frames waited
  double compute_ms = 0;           // this request's share of the batch's network time
};

// What a batcher needs of a request. Calls come from the batcher's thread.
class FrameSource {
 public:
  virtual ~FrameSource() = default;
  virtual bool Cancelled() const = 0;
  virtual bool WantsEmbeddings() const = 0;
  // Up to max_frames normalised frames into `out`; returns how many, `*first` the first index.
  virtual int64_t TakeFrames(float* out, int64_t max_frames, int64_t* first) = 0;
  // Must not block: hand the work over to another thread.
  virtual void OnNetworkOutput(NetworkOutput output) = 0;
  virtual void OnNetworkError(const Status& status) = 0;

 private:
  friend class FrameBatcher;
  int64_t announced_ = 0;  // frames announced and not yet taken (guarded by the batcher)
  bool queued_ = false;
  std::chrono::steady_clock::time_point announced_at_;
};

struct BatcherOptions {
  int64_t max_batch = 256;  // frames per network call
  std::chrono::microseconds max_delay{2000};
  int64_t max_queued_frames = 2'000'000;  // beyond this, Announce() refuses
};

struct BatcherStats {
  int64_t frames = 0;
  int64_t batches = 0;
  int64_t shared_batches = 0;  // with frames of more than one request
  int64_t largest_batch = 0;
  int64_t queued_frames = 0;
};

class FrameBatcher {
 public:
  FrameBatcher(Model& model, const BatcherOptions& options);
  ~FrameBatcher();  // Stop()
  FrameBatcher(const FrameBatcher&) = delete;
  FrameBatcher& operator=(const FrameBatcher&) = delete;

  // `source` has `frames` more frames ready. RESOURCE_EXHAUSTED when the queue would grow past
  // its bound (nothing is queued then); UNAVAILABLE once stopped.
  Status Announce(const std::shared_ptr<FrameSource>& source, int64_t frames);
  // Frames `source` had announced but will not deliver (it failed or was cancelled).
  void Withdraw(const std::shared_ptr<FrameSource>& source);
  // Finishes the batch in progress; what is still queued gets UNAVAILABLE.
  void Stop();

  BatcherStats stats() const;
  const BatcherOptions& options() const { return options_; }

 private:
  struct Part {
    std::shared_ptr<FrameSource> source;
    int64_t first = 0;
    int64_t count = 0;
    int64_t offset = 0;  // row in the batch
    double queue_ms = 0;
  };
  void Loop();
  std::vector<Part> FormBatch();
  void RunBatch(std::vector<Part>& parts, int64_t rows, bool embeddings);

  Model& model_;
  const BatcherOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<FrameSource>> queue_;
  int64_t queued_frames_ = 0;
  bool stopping_ = false;
  BatcherStats stats_;
  std::vector<float> frames_, activations_, embeddings_;
  std::thread thread_;
};

}  // namespace crepe::server
