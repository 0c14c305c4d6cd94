#include "pitch_job.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace crepe::server {

Result<std::shared_ptr<PitchJob>> PitchJob::Make(const SessionConfig& config, std::string id, std::string model,
                                                 FrameBatcher& batcher, ThreadPool& pool,
                                                 std::shared_ptr<SinkHandle> sink) {
  CREPE_ASSIGN_OR_RETURN(std::unique_ptr<PitchSession> session, PitchSession::Make(config));
  return std::shared_ptr<PitchJob>(new PitchJob(std::move(session), std::move(id), std::move(model), batcher, pool,
                                                std::move(sink), config.options.want_embeddings));
}

PitchJob::PitchJob(std::unique_ptr<PitchSession> session, std::string id, std::string model, FrameBatcher& batcher,
                   ThreadPool& pool, std::shared_ptr<SinkHandle> sink, bool wants_embeddings)
    : session_(std::move(session)),
      batcher_(batcher),
      pool_(pool),
      sink_(std::move(sink)),
      wants_embeddings_(wants_embeddings),
      started_(std::chrono::steady_clock::now()) {
  summary_.id = std::move(id);
  summary_.model = std::move(model);
}

void PitchJob::Serially(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(tasks_mutex_);
    tasks_.push_back(std::move(task));
    if (draining_) return;
    draining_ = true;
  }
  pool_.Post([self = shared_from_this()] { self->DrainTasks(); });
}

void PitchJob::DrainTasks() {
  while (true) {
    std::function<void()> task;
    {
      std::lock_guard<std::mutex> lock(tasks_mutex_);
      if (tasks_.empty()) {
        draining_ = false;
        return;
      }
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

void PitchJob::PushAudio(AudioBuffer chunk) {
  Serially([self = shared_from_this(), chunk = std::move(chunk)] {
    std::lock_guard<std::mutex> lock(self->mutex_);
    if (self->done_) return;
    const Status s = self->session_->PushAudio(chunk.samples.data(), chunk.frames());
    if (!s.ok()) return self->FinishLocked(s);
    self->AnnounceLocked();
    self->MaybeAskForAudioLocked();
  });
}

void PitchJob::EndOfAudio() {
  Serially([self = shared_from_this()] {
    std::lock_guard<std::mutex> lock(self->mutex_);
    if (self->done_) return;
    const Status s = self->session_->Finish();
    if (!s.ok()) return self->FinishLocked(s);
    self->AnnounceLocked();
    self->DeliverLocked();  // a clip whose frames were all in already
  });
}

void PitchJob::Cancel(const Status& why) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!done_) FinishLocked(why);
}

int64_t PitchJob::total_frames() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return session_->total_frames();
}

int64_t PitchJob::TakeFrames(float* out, int64_t max_frames, int64_t* first) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (done_) return 0;
  return session_->TakeFrames(out, max_frames, first);
}

void PitchJob::OnNetworkOutput(NetworkOutput output) {
  Serially([self = shared_from_this(), output = std::move(output)]() mutable {
    std::lock_guard<std::mutex> lock(self->mutex_);
    if (self->done_) return;
    self->summary_.queue_ms = std::max(self->summary_.queue_ms, output.queue_ms);
    self->summary_.compute_ms += output.compute_ms;
    const int64_t first = output.first;
    self->early_outputs_.emplace(first, std::move(output));
    self->DeliverLocked();
  });
}

void PitchJob::OnNetworkError(const Status& status) {
  Serially([self = shared_from_this(), status] {
    std::lock_guard<std::mutex> lock(self->mutex_);
    if (!self->done_) self->FinishLocked(status);
  });
}

void PitchJob::AnnounceLocked() {
  const int64_t available = session_->frames_taken() + session_->frames_ready();
  const int64_t fresh = available - announced_total_;
  if (fresh <= 0) return;
  const Status s = batcher_.Announce(shared_from_this(), fresh);
  if (!s.ok()) return FinishLocked(s);
  announced_total_ = available;
}

// Hands the network's outputs to the session in frame order, then passes on whatever results
// have become final, and ends the job when all are out.
void PitchJob::DeliverLocked() {
  for (auto it = early_outputs_.begin(); it != early_outputs_.end() && it->first == received_;
       it = early_outputs_.erase(it)) {
    NetworkOutput& o = it->second;
    const Status s = session_->PushNetworkOutput(o.first, o.count, o.activations.data(),
                                                 o.embeddings.empty() ? nullptr : o.embeddings.data());
    if (!s.ok()) return FinishLocked(s);
    received_ += o.count;
  }
  int64_t first = 0;
  Result<Prediction> rows = session_->TakeResults(&first);
  if (!rows.ok()) return FinishLocked(rows.status());
  if (rows->frames() > 0) {
    sink_->With([&](JobSink& sink) { sink.OnResults(std::move(*rows), first); });
  }
  if (session_->complete()) return FinishLocked(Status::Ok());
  MaybeAskForAudioLocked();
}

void PitchJob::MaybeAskForAudioLocked() {
  if (done_ || session_->finished()) return;
  const bool room = session_->frames_taken() + session_->frames_ready() - received_ < kMaxFramesInFlight;
  if (room) {
    sink_->With([](JobSink& sink) { sink.OnReadyForAudio(); });
  }
}

void PitchJob::FinishLocked(const Status& status) {
  if (done_.exchange(true)) return;
  batcher_.Withdraw(shared_from_this());
  summary_.frames = session_->frames_released();
  summary_.audio_seconds = session_->audio_seconds();
  summary_.total_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_).count();
  spdlog::info("request {} model={} frames={} audio_s={:.2f} queue_ms={:.1f} compute_ms={:.1f} total_ms={:.1f} {}",
               summary_.id, summary_.model, summary_.frames, summary_.audio_seconds, summary_.queue_ms,
               summary_.compute_ms, summary_.total_ms, status.ok() ? "OK" : status.ToString());
  sink_->With([&](JobSink& sink) { sink.OnFinished(status, summary_); });
}

}  // namespace crepe::server
