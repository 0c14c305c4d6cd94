// One dynamic batcher per model, after Triton's dynamic batcher: calls push blocks of frames that
// are ready to run (cut, normalised) into the model's queue; one batcher thread forms batches of
// up to max_batch frames from them, runs the network and hands each call its outputs. A batch runs
// when it is full or when the oldest frame waiting has waited max_delay.
//
// Which frames go first: interactive calls' frames before bulk calls' frames, always; within a
// priority, callers (peers) take turns of `quantum` frames, and so do the calls of one caller.
//
// Threads:
// - Reserve, Enqueue, Withdraw, stats: any thread. They hold the batcher's mutex only to update
//   its queues; nothing is copied or computed under it.
// - The batcher thread forms batches, copies their frames, runs the network (asking it for frame
//   summaries, and for activations only where a call needs them, when it summarises) and calls
//   BatchClient::OnBatchOutput / OnBatchError, never holding the mutex and never touching a
//   call's own state: a client's callbacks only post the outputs to the call's strand.
// - Stop (the owner, once): finishes the batch in progress; what is still queued gets UNAVAILABLE.
//
// Memory: queued frames are bounded by the reservations, which never exceed max_queued_frames;
// each call reserves its window before its first frame is queued (PitchJob).
//
// Viterbi on the device (NetworkRunner::decodes_viterbi): a Viterbi call's frames go to the
// network with its stream id (BatchClient::id), the block holding its last frames is marked
// `last` (or, when the end comes after every frame was queued, an empty block marked last is
// queued after them), and the runner hands back the frames whose path became certain. A call
// that ends otherwise is forgotten (Forget) and its stream dropped with the next batch.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "crepe/status.h"
#include "histogram.h"
#include "network_runner.h"

namespace crepe::server {

enum class Priority { kInteractive = 0, kBulk = 1 };
const char* PriorityName(Priority priority);

// Frames [first, first + count) of one call, ready to run: either cut and normalised (`frames`),
// or, for a network that cuts on its device (NetworkRunner::cuts_on_device), as windows of the
// 16 kHz signal (`window_samples`, frame i from window_starts[i]; not normalised).
struct FrameBlock {
  int64_t first = 0;
  int64_t count = 0;
  std::vector<float> frames;  // count x 1024, or empty for windows
  std::vector<float> window_samples;
  std::vector<int64_t> window_starts;  // count, non-decreasing
  // The call's last frames, for a network that decodes Viterbi; count may then be 0 (the end alone).
  bool last = false;
  bool windows() const { return frames.empty() && count > 0; }
};

// The outputs of one batch, shared by the calls whose frames were in it (no copies).
struct BatchResults {
  std::vector<float> activations;       // rows x 360; empty when summarised and no call needs them
  std::vector<FrameSummary> summaries;  // rows, when the network summarised the frames; else empty
  std::vector<float> embeddings;        // rows x 32 x width, when any frame of the batch asked for them
  int embedding_width = 0;
  // Per part of the batch, for calls whose Viterbi runs on the device: the frames whose path
  // became certain (ViterbiRequest::decided); empty otherwise.
  std::vector<std::vector<FrameSummary>> decided;
};

// A call's share of a batch: frames [first, first + count), rows [row, row + count) of `results`.
struct BatchOutput {
  int64_t first = 0;
  int64_t count = 0;
  std::shared_ptr<const BatchResults> results;
  int64_t row = 0;
  int64_t part = 0;                       // this share's index among the batch's parts
  double queue_ms = 0;                    // how long the oldest of these frames waited for its batch
  double compute_ms = 0;                  // this share of the batch's network time
  const float* activations() const;       // null when the batch brought none back
  const float* embeddings() const;        // null when the batch computed none
  const FrameSummary* summaries() const;  // null when the network did not summarise
  // Frames of the call whose Viterbi path the network decided (null when it decodes none).
  const std::vector<FrameSummary>* decided() const;
};

// A call as the batcher sees it: who it is, for fairness and priority, and where outputs go.
class BatchClient {
 public:
  struct Traits {
    Priority priority = Priority::kBulk;
    std::string caller;  // calls with the same caller share that caller's turn
    bool wants_embeddings = false;
    bool fail_batches = false;  // test hook: a batch holding this call's frames fails (--test-fail-request-prefix)
    // For a network that summarises frames on its device: the call's bin range, and whether it
    // needs its frames' activations on the host anyway (asked for, or Viterbi).
    BinRange range;
    bool needs_activations = true;
    // For a network that decodes Viterbi: the call's Viterbi decoder, decided there.
    bool viterbi_on_device = false;
    Decoder decoder = Decoder::kViterbi;
  };
  explicit BatchClient(Traits traits) : traits_(std::move(traits)), id_(NextId()) {}
  virtual ~BatchClient() = default;
  BatchClient(const BatchClient&) = delete;
  BatchClient& operator=(const BatchClient&) = delete;

  // Batcher thread. Must not block: hand the work to the call's own thread (strand).
  virtual void OnBatchOutput(BatchOutput output) = 0;
  virtual void OnBatchError(int64_t first, int64_t count, const Status& status) = 0;

  const Traits& traits() const { return traits_; }
  // Unique in the process, never reused, never 0: the call's Viterbi stream on the device.
  uint64_t id() const { return id_; }
  // Any thread: the batcher skips a cancelled client's frames from now on.
  void MarkCancelled() { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }

 private:
  static uint64_t NextId();
  const Traits traits_;
  const uint64_t id_;
  std::atomic<bool> cancelled_{false};
};

struct BatcherOptions {
  int64_t max_batch = 256;  // frames per network call
  std::chrono::microseconds max_delay{2000};
  int64_t max_queued_frames = 65536;  // reservations beyond this are refused (QUEUE_FULL)
  int64_t quantum = 32;               // frames a caller takes per turn
};

// Bounds of the batcher's histograms (the metrics endpoint reports them).
std::vector<double> BatchSizeBounds();  // 1, 2, 4, ... 4096 frames
std::vector<double> DurationBounds();   // 0.25 ms ... about 2 min, doubling

struct BatcherStats {
  int64_t frames = 0;
  int64_t batches = 0;
  int64_t shared_batches = 0;  // with frames of more than one call
  int64_t largest_batch = 0;
  int64_t failed_batches = 0;
  int64_t queued_frames = 0;
  int64_t reserved_frames = 0;
  int64_t interactive_frames = 0;                  // frames run for interactive calls
  double busy_ms = 0;                              // time spent in the network
  Histogram batch_frames{BatchSizeBounds()};       // frames per batch run
  Histogram batch_seconds{DurationBounds()};       // network time per batch
  Histogram queue_wait_seconds{DurationBounds()};  // per call's share of a batch: its oldest frame's wait
};

class FrameBatcher {
 public:
  FrameBatcher(NetworkRunner& network, const BatcherOptions& options);
  ~FrameBatcher();  // Stop()
  FrameBatcher(const FrameBatcher&) = delete;
  FrameBatcher& operator=(const FrameBatcher&) = delete;

  // Room for `frames` more queued frames, held until Unreserve. RESOURCE_EXHAUSTED (reason
  // QUEUE_FULL) when the reservations would exceed max_queued_frames; UNAVAILABLE once stopped.
  Status Reserve(int64_t frames);
  void Unreserve(int64_t frames);

  // Queues a block of `client`'s frames (within its reservation). UNAVAILABLE once stopped.
  Status Enqueue(const std::shared_ptr<BatchClient>& client, FrameBlock block);
  // Drops `client`'s queued frames. Frames already in the batch being run still get outputs.
  void Withdraw(const BatchClient* client);
  // A call whose Viterbi ran on the device is gone (its last reference): the network drops its
  // stream with the next batch (a no-op when the stream ended with its last part). Does not
  // wake the batcher: until another batch runs, the stream's memory stays (bounded by the
  // call's own limit).
  void Forget(uint64_t client_id);
  void Stop();

  BatcherStats stats() const;
  const BatcherOptions& options() const { return options_; }
  // Whether calls should hand over windows of audio rather than cut frames (any thread).
  bool wants_windows() const { return network_.cuts_on_device(); }
  // Whether Viterbi calls should leave their paths to the network (any thread).
  bool decodes_viterbi() const { return network_.decodes_viterbi(); }

 private:
  using Clock = std::chrono::steady_clock;
  struct Queued {
    std::shared_ptr<FrameBlock> block;
    int64_t taken = 0;  // frames of the block already in a batch
    Clock::time_point enqueued_at;
  };
  struct ClientQueue {
    std::shared_ptr<BatchClient> client;
    std::deque<Queued> blocks;
  };
  // Callers with frames waiting, in turn order; each with its calls, in turn order.
  struct CallerTurn {
    std::string caller;
    std::deque<const BatchClient*> clients;
  };
  struct PriorityQueue {
    std::list<CallerTurn> turns;
    std::unordered_map<std::string, std::list<CallerTurn>::iterator> by_caller;
  };
  struct Part {
    std::shared_ptr<BatchClient> client;
    std::shared_ptr<FrameBlock> block;
    int64_t offset = 0;  // within the block
    int64_t count = 0;
    int64_t row = 0;  // within the batch
    double queue_ms = 0;
  };

  void Loop();
  std::vector<Part> FormBatchLocked();
  int64_t TakeTurnsLocked(PriorityQueue& queue, int64_t room, int64_t row, std::vector<Part>& parts);
  void DropClientLocked(const BatchClient* client);
  void RunBatch(std::vector<Part>& parts, int64_t rows);

  NetworkRunner& network_;
  const BatcherOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::unordered_map<const BatchClient*, ClientQueue> clients_;
  PriorityQueue queues_[2];                         // by Priority
  std::multiset<Clock::time_point> waiting_since_;  // enqueue times of the blocks queued
  int64_t queued_frames_ = 0;
  int64_t queued_ends_ = 0;  // empty blocks marked last
  int64_t reserved_frames_ = 0;
  // Forget()'s ids, passed on with the next batch. Its own mutex: Forget runs in a call's
  // destructor, which may run where mutex_ is held (a queue dropping the call's last reference).
  std::mutex forget_mutex_;
  std::vector<uint64_t> forgotten_;
  bool stopping_ = false;
  BatcherStats stats_;
  std::vector<float> frames_;  // the batch being formed (batcher thread only)
  // The batch as windows, when its blocks are windows (batcher thread only).
  std::vector<float> window_samples_;
  std::vector<int64_t> window_starts_;
  std::vector<BinRange> ranges_;      // each row's bin range, when the network summarises (batcher thread only)
  std::vector<uint64_t> forget_now_;  // taken from forgotten_ for the batch being run (batcher thread only)
  std::thread thread_;
};

}  // namespace crepe::server
