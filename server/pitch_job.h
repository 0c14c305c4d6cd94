// One call's pipeline on the server: the core's PitchSession (the pipeline Predictor drives too),
// fed by the call, its frames pushed into a model's FrameBatcher, its results handed back to the
// call through a JobSink.
//
// Threads: every piece of a job's state is owned by its Strand; nothing here takes a lock of its
// own. The public methods only post a message to the strand (or set an atomic) and return:
// - PushAudio, EndOfAudio, Written, Cancel: the call's reactor (gRPC threads, any time);
// - OnBatchOutput, OnBatchError: the batcher thread.
// On the strand, in order: audio is resampled and cut into normalised frames (the frame side),
// blocks of them go to the batcher, outputs are decoded and post-processed (the result side),
// results go to the sink. The sink is called only from the strand, one call at a time.
//
// Flow control: a job keeps at most `window_frames` frames between cutting and handing over (in
// the model's queue or batch, or, for a stream, sent to the sink but not yet written to the
// wire); it reserves that much of the model's queue when it starts. It asks for more audio only
// when all it holds is cut, so it buffers at most one message of audio beyond its window.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "crepe/audio.h"
#include "crepe/pitch_session.h"
#include "crepe/prediction.h"
#include "crepe/status.h"
#include "crepe/thread_pool.h"
#include "frame_batcher.h"
#include "strand.h"

namespace crepe::server {

struct JobSummary {
  int64_t frames = 0;  // results released
  double audio_seconds = 0;
  double queue_ms = 0;    // longest wait of the call's frames for a batch
  double compute_ms = 0;  // the call's share of network time
};

// Implemented by a call's reactor. Calls come from the job's strand, never overlap, come in
// order, end with exactly one OnFinished, and must not block (queue the work and return).
class JobSink {
 public:
  virtual ~JobSink() = default;
  virtual void OnResults(Prediction rows, int64_t first_frame) = 0;
  virtual void OnFinished(const Status& status, const JobSummary& summary) = 0;
  // The job has cut all the audio it holds: a stream may read its next message.
  virtual void OnReadyForAudio() {}
};

// Lets a reactor go (gRPC deletes it in OnDone) while work for it is still queued: calls through a
// detached handle go nowhere. Detach waits for a sink call in progress, which never blocks. A
// plain mutex suffices: gRPC runs OnDone on its executor, never inside a call that the reactor
// makes (grpcpp/support/server_callback.h: application reactors are not InternalInlineable), so
// Detach is never called from within With().
class SinkHandle {
 public:
  explicit SinkHandle(JobSink* sink) : sink_(sink) {}
  void Detach() {
    std::lock_guard<std::mutex> lock(mutex_);
    sink_ = nullptr;
  }
  template <typename F>
  void With(F&& f) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (sink_ != nullptr) f(*sink_);
  }

 private:
  std::mutex mutex_;
  JobSink* sink_;
};

struct JobLimits {
  int64_t window_frames = 512;  // see the header comment
  int64_t block_frames = 256;   // frames per block queued
  // Streams: frames count in the window until the call reports them written (Written). A unary
  // call's results go into its response at once.
  bool count_unsent = false;
  // Memory held for results that are not final yet (hysteresis and a clip-relative gate hold
  // everything to the end; Viterbi holds undecided rows); beyond it the call fails with
  // RESOURCE_EXHAUSTED. 0: no limit (a unary call is bounded by its message size).
  int64_t max_held_bytes = 0;
};

struct JobSpec {
  std::string id;
  BatchClient::Traits traits;
  JobLimits limits;
  int64_t expected_frames = -1;  // known up front (a unary call): its reservation is no larger
};

class PitchJob final : public BatchClient, public std::enable_shared_from_this<PitchJob> {
 public:
  // Decodes a message's audio on the strand; `first_frame` is where it starts in the stream.
  using AudioDecoder = std::function<Result<AudioBuffer>(int64_t first_frame)>;

  // Reserves the job's window in the batcher's queue: RESOURCE_EXHAUSTED (QUEUE_FULL) when the
  // model's queue has no room.
  static Result<std::shared_ptr<PitchJob>> Make(const SessionConfig& config, JobSpec spec, FrameBatcher& batcher,
                                                ThreadPool& pool, std::shared_ptr<SinkHandle> sink);
  ~PitchJob() override;

  void PushAudio(AudioBuffer chunk);
  void PushAudio(AudioDecoder decode);
  void EndOfAudio();
  void Written(int64_t frames);
  void Cancel(const Status& why);

  void OnBatchOutput(BatchOutput output) override;
  void OnBatchError(int64_t first, int64_t count, const Status& status) override;

 private:
  PitchJob(std::unique_ptr<PitchSession> session, JobSpec spec, int64_t window, FrameBatcher& batcher,
           std::shared_ptr<SinkHandle> sink);
  template <typename F>
  void OnStrand(F&& f);
  // On the strand:
  void TakeAudio(Result<AudioBuffer> chunk);
  void TakeOutput(const BatchOutput& output);
  void ReleaseResults();
  void Pump();
  void Finish(const Status& status);

  const JobSpec spec_;
  const int64_t window_;
  FrameBatcher& batcher_;
  std::shared_ptr<Strand> strand_;
  std::shared_ptr<SinkHandle> sink_;
  std::atomic<bool> reserved_{true};  // the window's reservation is held
  // Owned by the strand:
  std::unique_ptr<PitchSession> session_;
  bool done_ = false;
  bool audio_asked_ = false;
  int64_t in_network_ = 0;   // frames queued or in a batch
  int64_t unsent_ = 0;       // frames handed to the sink, not yet written (streams)
  int64_t received_ = 0;     // outputs in for frames [0, received_)
  bool end_queued_ = false;  // Viterbi on the device: the block ending the call is queued
  JobSummary summary_;
};

}  // namespace crepe::server
