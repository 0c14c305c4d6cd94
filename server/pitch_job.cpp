#include "pitch_job.h"

#include <algorithm>
#include <new>
#include <utility>

#include "crepe/capacity.h"
#include "error_reasons.h"

namespace crepe::server {

Result<std::shared_ptr<PitchJob>> PitchJob::Make(const SessionConfig& config, JobSpec spec, FrameBatcher& batcher,
                                                 ThreadPool& pool, std::shared_ptr<SinkHandle> sink) {
  // Viterbi paths decided where the network runs, when it can: the rows stay there.
  SessionConfig session_config = config;
  session_config.viterbi_elsewhere = batcher.decodes_viterbi() && IsViterbi(config.options.decoder);
  CREPE_ASSIGN_OR_RETURN(std::unique_ptr<PitchSession> session, PitchSession::Make(session_config));
  spec.traits.range = session->bin_range();
  spec.traits.needs_activations = session->needs_activation_rows();
  spec.traits.viterbi_on_device = session_config.viterbi_elsewhere;
  spec.traits.decoder = config.options.decoder;
  int64_t window = std::max<int64_t>(1, spec.limits.window_frames);
  if (spec.expected_frames >= 0) window = std::max<int64_t>(1, std::min(window, spec.expected_frames));
  CREPE_RETURN_IF_ERROR(batcher.Reserve(window));
  std::shared_ptr<PitchJob> job(new PitchJob(std::move(session), std::move(spec), window, batcher, std::move(sink)));
  // A task that throws fails the call (the strand catches it); the strand must not own the job.
  std::weak_ptr<PitchJob> weak = job;
  // A live stream's work goes ahead of bulk calls' on the pool too, not only in the model's batches.
  const ThreadPool::Lane lane =
      job->spec_.traits.priority == Priority::kInteractive ? ThreadPool::Lane::kAhead : ThreadPool::Lane::kNormal;
  job->strand_ = Strand::Make(
      pool,
      [weak](const std::string& what) {
        if (auto self = weak.lock()) self->Finish(InternalError("the server failed handling this call: " + what));
      },
      lane);
  return job;
}

PitchJob::PitchJob(std::unique_ptr<PitchSession> session, JobSpec spec, int64_t window, FrameBatcher& batcher,
                   std::shared_ptr<SinkHandle> sink)
    : BatchClient(spec.traits),
      spec_(std::move(spec)),
      window_(window),
      batcher_(batcher),
      sink_(std::move(sink)),
      session_(std::move(session)) {}

PitchJob::~PitchJob() {
  if (reserved_.exchange(false)) batcher_.Unreserve(window_);
  if (traits().viterbi_on_device) batcher_.Forget(id());
}

template <typename F>
void PitchJob::OnStrand(F&& f) {
  strand_->Post([self = shared_from_this(), f = std::forward<F>(f)]() mutable {
    if (!self->done_) f(*self);
  });
}

void PitchJob::PushAudio(AudioBuffer chunk) {
  OnStrand([chunk = std::move(chunk)](PitchJob& job) mutable { job.TakeAudio(std::move(chunk)); });
}

void PitchJob::PushAudio(AudioDecoder decode) {
  OnStrand([decode = std::move(decode)](PitchJob& job) { job.TakeAudio(decode(job.session_->input_frames())); });
}

void PitchJob::EndOfAudio() {
  OnStrand([](PitchJob& job) {
    const Status s = job.session_->Finish();
    if (!s.ok()) return job.Finish(s);
    job.ReleaseResults();  // a clip whose frames were all in already
    job.Pump();
  });
}

void PitchJob::Written(int64_t frames) {
  OnStrand([frames](PitchJob& job) {
    job.unsent_ -= frames;
    job.Pump();
  });
}

void PitchJob::Cancel(const Status& why) {
  MarkCancelled();  // the batcher skips our frames from now on
  OnStrand([why](PitchJob& job) { job.Finish(why); });
}

void PitchJob::OnBatchOutput(BatchOutput output) {
  OnStrand([output = std::move(output)](PitchJob& job) { job.TakeOutput(output); });
}

void PitchJob::OnBatchError(int64_t, int64_t, const Status& status) {
  OnStrand([status](PitchJob& job) { job.Finish(status); });
}

void PitchJob::TakeAudio(Result<AudioBuffer> chunk) {
  if (!chunk.ok()) return Finish(chunk.status());
  audio_asked_ = false;
  const Status s = session_->PushAudio(chunk->samples.data(), chunk->frames());
  if (!s.ok()) return Finish(s);
  Pump();
}

void PitchJob::TakeOutput(const BatchOutput& output) {
  // Blocks run in the order queued and outputs come back in that order; anything else is a bug,
  // and it must fail the call rather than drop or reorder rows.
  if (output.first != received_) {
    return Finish(InternalError("network outputs out of order: expected frame " + std::to_string(received_) +
                                ", got frame " + std::to_string(output.first)));
  }
  const float* embeddings = traits().wants_embeddings ? output.embeddings() : nullptr;
  Status s = output.summaries() != nullptr || output.count == 0
                 ? session_->PushSummarizedOutput(output.first, output.count, output.summaries(), output.activations(),
                                                  embeddings)
                 : session_->PushNetworkOutput(output.first, output.count, output.activations(), embeddings);
  if (s.ok() && traits().viterbi_on_device) {
    const std::vector<FrameSummary>* decided = output.decided();
    if (decided == nullptr) return Finish(InternalError("the network decided no Viterbi path for this call"));
    s = session_->PushDecidedFrames(decided->data(), static_cast<int64_t>(decided->size()));
  }
  if (!s.ok()) return Finish(s);
  received_ += output.count;
  in_network_ -= output.count;
  summary_.queue_ms = std::max(summary_.queue_ms, output.queue_ms);
  summary_.compute_ms += output.compute_ms;
  ReleaseResults();
  Pump();
}

// Passes on whatever results have become final, and ends the job when all are out.
void PitchJob::ReleaseResults() {
  if (done_) return;
  int64_t first = 0;
  Result<Prediction> rows = session_->TakeResults(&first);
  if (!rows.ok()) return Finish(rows.status());
  const int64_t n = rows->frames();
  if (n > 0) {
    if (spec_.limits.count_unsent) unsent_ += n;
    sink_->With([&](JobSink& sink) { sink.OnResults(std::move(*rows), first); });
  }
  if (session_->complete()) return Finish(Status::Ok());
  const int64_t max_held = spec_.limits.max_held_bytes;
  if (max_held > 0 && session_->held_bytes() > max_held) {
    Finish(ResourceExhaustedError("this call holds " + std::to_string(session_->held_bytes() >> 20) +
                                  " MiB of results that are not final yet, over the server's limit of " +
                                  std::to_string(max_held >> 20) +
                                  " MiB (hysteresis and a silence gate without silence_reference_db hold every "
                                  "result to the end; so does Viterbi while its paths have not merged): use a "
                                  "voicing threshold, set silence_reference_db, ask for fewer outputs, or send "
                                  "shorter streams")
               .WithReason(reasons::kHeldResultsTooLarge));
  }
}

// Cuts the frames that are ready into blocks for the batcher while the window has room; asks for
// more audio once everything held is cut.
void PitchJob::Pump() {
  while (!done_ && session_->frames_ready() > 0) {
    const int64_t room = window_ - in_network_ - unsent_;
    if (room <= 0) break;
    const int64_t n = std::min({room, spec_.limits.block_frames, session_->frames_ready()});
    FrameBlock block;
    try {
      if (batcher_.wants_windows()) {
        block.count = session_->TakeWindows(&block.window_samples, &block.window_starts, n, &block.first);
      } else {
        block.frames.resize(static_cast<size_t>(n) * kFrameLength);
        block.count = session_->TakeFrames(block.frames.data(), n, &block.first);
      }
    } catch (const std::bad_alloc&) {
      return Finish(ResourceExhaustedError("out of memory cutting " + std::to_string(n) + " frames"));
    }
    in_network_ += block.count;
    // The network decides a Viterbi path to its end with the block holding the last frame.
    block.last = traits().viterbi_on_device && session_->finished() && session_->frames_ready() == 0;
    end_queued_ = block.last;
    const Status s = batcher_.Enqueue(shared_from_this(), std::move(block));
    if (!s.ok()) return Finish(s);
  }
  if (!done_ && traits().viterbi_on_device && !end_queued_ && session_->finished() && session_->frames_ready() == 0) {
    // The end came after every frame was queued: it goes to the network alone.
    FrameBlock end;
    end.first = session_->frames_taken();
    end.last = true;
    end_queued_ = true;
    const Status s = batcher_.Enqueue(shared_from_this(), std::move(end));
    if (!s.ok()) return Finish(s);
  }
  if (!done_ && !session_->finished() && session_->frames_ready() == 0 && !audio_asked_) {
    audio_asked_ = true;
    sink_->With([](JobSink& sink) { sink.OnReadyForAudio(); });
  }
}

void PitchJob::Finish(const Status& status) {
  if (done_) return;
  done_ = true;
  MarkCancelled();
  batcher_.Withdraw(this);
  if (reserved_.exchange(false)) batcher_.Unreserve(window_);
  summary_.frames = session_->frames_released();
  summary_.audio_seconds = session_->audio_seconds();
  session_.reset();  // the memory goes now, not when the last reference does
  sink_->With([&](JobSink& sink) { sink.OnFinished(status, summary_); });
}

}  // namespace crepe::server
