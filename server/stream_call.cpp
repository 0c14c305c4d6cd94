#include "stream_call.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <utility>

#include "error_reasons.h"
#include "frames_codec.h"
#include "status_mapping.h"

namespace crepe::server {
namespace {

Prediction Slice(const Prediction& p, int64_t start, int64_t count) {
  if (start == 0 && count == p.frames()) return p;
  Prediction s;
  s.embedding_width = p.embedding_width;
  auto take = [&](const auto& v, int64_t width) {
    using V = std::decay_t<decltype(v)>;
    if (v.empty()) return V{};
    return V(v.begin() + start * width, v.begin() + (start + count) * width);
  };
  s.time = take(p.time, 1);
  s.frequency = take(p.frequency, 1);
  s.confidence = take(p.confidence, 1);
  s.periodicity = take(p.periodicity, 1);
  s.activations = take(p.activations, kPitchBins);
  s.embeddings = take(p.embeddings, int64_t{kEmbeddingRows} * p.embedding_width);
  return s;
}

std::string Seconds(double s) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", s);
  return text;
}

}  // namespace

StreamCall::StreamCall(ServiceContext& context, grpc::CallbackServerContext* call)
    : context_(context), call_(call), handle_(std::make_shared<SinkHandle>(this)) {
  record_.method = "StreamPredict";
  context.streams_open.fetch_add(1);
  record_.id = RequestId(context, *call, "");  // until the config names one
  record_.peer = PeerKey(call->peer());
  Result<CallAdmission::Ticket> ticket = AdmitCall(context, record_.peer);
  if (!ticket.ok()) {
    std::optional<grpc::Status> done;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done = BeginFinishLocked(ticket.status());
    }
    if (done) Finish(*done);
    return;
  }
  ticket_ = std::move(*ticket);
  context.housekeeper.Watch(this);
  std::lock_guard<std::mutex> lock(mutex_);
  StartReadLocked();  // the config
}

void StreamCall::UpdateIdleClockLocked() {
  if (reading_ || writing_) {
    StartWaiting();  // (again: a read or write just started or finished, which is progress)
  } else {
    StopWaiting();
  }
}

void StreamCall::StartReadLocked() {
  reading_ = true;
  StartRead(&incoming_);
  UpdateIdleClockLocked();
}

std::optional<grpc::Status> StreamCall::PumpLocked() {
  if (finish_called_) return std::nullopt;
  if (!writing_ && !pending_.empty()) {
    outgoing_ = std::move(pending_.front());
    pending_.pop_front();
    writing_ = true;
    StartWrite(&outgoing_.message);
    UpdateIdleClockLocked();
    return std::nullopt;
  }
  if (finishing_ && !writing_) {
    finish_called_ = true;
    return rpc::ToGrpcStatus(finish_status_);
  }
  return std::nullopt;
}

void StreamCall::EchoIdLocked() {
  if (id_echoed_) return;
  id_echoed_ = true;
  EchoRequestId(*call_, record_.id);
}

std::optional<grpc::Status> StreamCall::BeginFinishLocked(const Status& status) {
  if (finishing_) return std::nullopt;
  EchoIdLocked();  // nothing was sent yet if the config never started a job
  finishing_ = true;
  finish_status_ = status;
  if (!status.ok()) pending_.clear();  // an error ends the stream; results not yet sent are dropped
  return PumpLocked();
}

Status StreamCall::StartJobLocked() {
  if (incoming_.message_case() != v1::StreamRequest::kConfig) {
    return InvalidArgumentError("the first message of a stream must be its config");
  }
  const v1::StreamConfig& config = incoming_.config();
  if (!config.request_id().empty()) record_.id = RequestId(context_, *call_, config.request_id());
  EchoIdLocked();
  CREPE_ASSIGN_OR_RETURN(ResolvedModel r, ResolveModel(context_, config.options()));
  record_.model = std::string(CapacityName(r.info.capacity));
  outputs_ = r.request.outputs;
  format_ = config.format();
  sample_rate_ = config.sample_rate_hz();
  channels_ = config.channels() == 0 ? 1 : config.channels();
  // Checks the format, rate and channels before any audio arrives.
  CREPE_RETURN_IF_ERROR(rpc::DecodePcm(format_, sample_rate_, channels_, std::string()).status());
  max_frames_per_message_ =
      std::max<int64_t>(1, MessageLimitBytes(context_) / 2 / BytesPerFrame(outputs_, r.info.embedding_width));
  JobSpec spec;
  spec.id = record_.id;
  spec.traits =
      CallTraits(context_, config.priority(), Priority::kInteractive, record_.peer, record_.id, outputs_.embeddings);
  spec.limits = CallLimits(context_, *r.batcher, /*stream=*/true);
  record_.priority = PriorityName(spec.traits.priority);
  const SessionConfig session{sample_rate_, channels_, r.request.options, r.info.embedding_width};
  CREPE_ASSIGN_OR_RETURN(job_, PitchJob::Make(session, std::move(spec), *r.batcher, context_.pool, handle_));
  Outgoing started;
  FillModelRef(r.info, started.message.mutable_started());
  pending_.push_back(std::move(started));
  return Status::Ok();
}

void StreamCall::OnReadDone(bool ok) {
  std::shared_ptr<PitchJob> job;
  std::optional<grpc::Status> done;
  Status failure;
  std::string audio;
  bool end_of_audio = false, have_audio = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    reading_ = false;
    UpdateIdleClockLocked();
    if (finishing_) return;
    if (!ok) {
      if (call_->IsCancelled()) return;  // OnCancel tells why
      half_closed_ = true;
      if (!job_) {
        done = BeginFinishLocked(InvalidArgumentError("the stream ended before its config message"));
      } else {
        job = job_;
        end_of_audio = true;
      }
    } else if (!job_) {
      const Status s = StartJobLocked();
      if (s.ok()) {
        StartReadLocked();  // the first audio
        done = PumpLocked();
      } else {
        done = BeginFinishLocked(s.WithContext("stream config"));
      }
    } else if (incoming_.message_case() != v1::StreamRequest::kAudio) {
      job = job_;
      failure = InvalidArgumentError("after the config message, a stream carries only audio");
      done = BeginFinishLocked(failure);
    } else {
      job = job_;
      audio = std::move(*incoming_.mutable_audio());
      have_audio = true;
    }
  }
  if (job && !failure.ok()) job->Cancel(failure);
  if (job && end_of_audio) job->EndOfAudio();
  if (job && have_audio) {
    // Decoded on the job's strand; the job asks for the next message when it has room.
    job->PushAudio([format = format_, rate = sample_rate_, channels = channels_,
                    audio = std::move(audio)](int64_t first_frame) -> Result<AudioBuffer> {
      Result<AudioBuffer> pcm = rpc::DecodePcm(format, rate, channels, audio);
      if (!pcm.ok()) return pcm.status().WithContext("audio message from frame " + std::to_string(first_frame));
      return pcm;
    });
  }
  if (done) Finish(*done);
}

void StreamCall::OnReadyForAudio() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (reading_ || half_closed_ || finishing_) return;
  StartReadLocked();
}

void StreamCall::OnResults(Prediction rows, int64_t first_frame) {
  // Encoded here, on the job's strand, outside the lock; split so that every message stays well
  // below the message limit.
  std::vector<Outgoing> messages;
  const int64_t n = rows.frames();
  for (int64_t start = 0; start < n; start += max_frames_per_message_) {
    const int64_t count = std::min(max_frames_per_message_, n - start);
    Outgoing o;
    rpc::EncodeFrames(Slice(rows, start, count), first_frame + start, outputs_, o.message.mutable_frames());
    o.frames = count;
    messages.push_back(std::move(o));
  }
  std::optional<grpc::Status> done;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finishing_) return;  // an error or cancellation came first
    for (Outgoing& o : messages) pending_.push_back(std::move(o));
    done = PumpLocked();
  }
  if (done) Finish(*done);
}

void StreamCall::OnFinished(const Status& status, const JobSummary& summary) {
  std::optional<grpc::Status> done;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    record_.summary = summary;
    if (status.ok() && !finishing_) {
      Outgoing message;
      message.message.mutable_summary()->set_frames(summary.frames);
      message.message.mutable_summary()->set_audio_seconds(summary.audio_seconds);
      pending_.push_back(std::move(message));
    }
    done = BeginFinishLocked(status);
  }
  if (done) Finish(*done);
}

void StreamCall::OnWriteDone(bool ok) {
  std::shared_ptr<PitchJob> job;
  std::optional<grpc::Status> done;
  int64_t written = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    writing_ = false;
    if (ok) {
      written = outgoing_.frames;
    } else {
      pending_.clear();  // the client is gone; OnCancel follows
    }
    outgoing_ = {};
    job = job_;
    done = PumpLocked();
    UpdateIdleClockLocked();
  }
  if (job && written > 0) job->Written(written);
  if (done) Finish(*done);
}

void StreamCall::OnCancel() {
  std::shared_ptr<PitchJob> job;
  std::optional<grpc::Status> done;
  Status why;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    why = idle_status_.ok() ? CancellationStatus(context_, *call_) : idle_status_;
    job = job_;
    pending_.clear();
    if (finishing_ && finish_status_.ok()) finish_status_ = why;  // the client never got the end
    done = BeginFinishLocked(why);
  }
  if (job) job->Cancel(why);
  if (done) Finish(*done);
}

void StreamCall::OnIdle(double idle_s) {
  std::shared_ptr<PitchJob> job;
  std::optional<grpc::Status> done;
  Status status;
  bool cancel = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (idle_handled_ || finishing_) return;
    idle_handled_ = true;
    const std::string limit = " (--stream-idle-timeout-s " + Seconds(context_.options.stream_idle_timeout_s) + ")";
    if (writing_) {
      // The client reads nothing, so no status could reach it either: cancel the call.
      idle_status_ = Status(StatusCode::kDeadlineExceeded,
                            "the client read none of the stream's results for " + Seconds(idle_s) + " s" + limit)
                         .WithReason(reasons::kStreamIdle);
      cancel = true;
    } else {
      status = Status(StatusCode::kDeadlineExceeded,
                      "the stream sent no message for " + Seconds(idle_s) + " s" + limit + "; it was closed")
                   .WithReason(reasons::kStreamIdle);
      job = job_;
      done = BeginFinishLocked(status);
    }
  }
  if (cancel) {
    call_->TryCancel();  // OnCancel follows, on gRPC's executor
    return;
  }
  if (job) job->Cancel(status);
  if (done) Finish(*done);
}

void StreamCall::OnDone() {
  context_.housekeeper.Unwatch(this);
  handle_->Detach();
  CallRecord record;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    record_.outcome = finish_status_;
    record = record_;
  }
  context_.streams_open.fetch_sub(1);
  ReportCall(context_, record);
  delete this;
}

}  // namespace crepe::server
