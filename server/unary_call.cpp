#include "unary_call.h"

#include <utility>

#include "crepe/frames.h"
#include "error_reasons.h"
#include "frames_codec.h"
#include "status_mapping.h"

namespace crepe::server {
UnaryCall::UnaryCall(ServiceContext& context, grpc::CallbackServerContext* call, const v1::PredictRequest* request,
                     v1::PredictResponse* response)
    : context_(context),
      call_(call),
      request_(request),
      response_(response),
      handle_(std::make_shared<SinkHandle>(this)) {
  record_.method = "Predict";
  record_.id = RequestId(context, *call, request->request_id());
  EchoRequestId(*call, record_.id);
  record_.peer = PeerKey(call->peer());
  Result<CallAdmission::Ticket> ticket = AdmitCall(context, record_.peer);
  if (!ticket.ok()) {
    FinishCall(ticket.status());
    return;
  }
  ticket_ = std::move(*ticket);
  context.pool.Post([this] { Start(); });  // nobody else finishes the call before Start has handed it on
}

void UnaryCall::Start() {
  Status s;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    s = cancelled_;
  }
  if (s.ok()) s = StartJob();
  if (!s.ok()) FinishCall(s);
}

Status UnaryCall::StartJob() {
  CREPE_ASSIGN_OR_RETURN(ResolvedModel r, ResolveModel(context_, request_->options()));
  outputs_ = r.request.outputs;
  info_ = r.info;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    record_.model = std::string(CapacityName(info_.capacity));
  }
  CREPE_ASSIGN_OR_RETURN(AudioBuffer audio, rpc::DecodeAudio(request_->audio()));
  audio_seconds_ = static_cast<double>(audio.frames()) / audio.sample_rate;
  // Refuse up front a response that could never be sent.
  const PredictOptions& o = r.request.options;
  int64_t frames = -1;
  auto grid = FrameGrid::Make(ResampledLength(audio.frames(), audio.sample_rate), audio.sample_rate, o.hop, o.center);
  if (grid.ok()) {
    frames = grid->size();
    const int64_t bytes = frames * BytesPerFrame(outputs_, info_.embedding_width);
    if (bytes > MessageLimitBytes(context_)) {
      return ResourceExhaustedError("the response would take about " + std::to_string(bytes >> 20) + " MiB, over the " +
                                    std::to_string(context_.options.max_message_mb) +
                                    " MiB message limit: use StreamPredict, FLOAT16 tensors or fewer outputs")
          .WithReason(reasons::kResponseTooLarge);
    }
  }
  JobSpec spec;
  spec.id = record_.id;
  spec.traits =
      CallTraits(context_, request_->priority(), Priority::kBulk, record_.peer, record_.id, outputs_.embeddings);
  spec.limits = CallLimits(context_, *r.batcher, /*stream=*/false);
  spec.expected_frames = frames;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    record_.priority = PriorityName(spec.traits.priority);
  }
  SessionConfig config{audio.sample_rate, audio.channels, o, info_.embedding_width};
  CREPE_ASSIGN_OR_RETURN(std::shared_ptr<PitchJob> job,
                         PitchJob::Make(config, std::move(spec), *r.batcher, context_.pool, handle_));
  Status cancelled;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = job;
    cancelled = cancelled_;
  }
  // From here the job finishes the call.
  if (!cancelled.ok()) {
    job->Cancel(cancelled);
    return Status::Ok();
  }
  job->PushAudio(std::move(audio));
  job->EndOfAudio();
  return Status::Ok();
}

void UnaryCall::OnResults(Prediction rows, int64_t first_frame) {
  if (!rows_error_.ok()) return;
  if (first_frame != result_.frames()) {
    rows_error_ = InternalError("results out of order: frame " + std::to_string(first_frame) + " came when frame " +
                                std::to_string(result_.frames()) + " was due");
    return;
  }
  result_.Append(std::move(rows));
}

void UnaryCall::OnFinished(const Status& status, const JobSummary& summary) {
  Status outcome = status.ok() ? rows_error_ : status;
  if (outcome.ok() && result_.frames() != summary.frames) {
    outcome = InternalError("the response holds " + std::to_string(result_.frames()) + " frames of the " +
                            std::to_string(summary.frames) + " released");
  }
  if (outcome.ok()) {
    response_->set_request_id(record_.id);
    FillModelRef(info_, response_->mutable_model());
    rpc::EncodeFrames(result_, 0, outputs_, response_->mutable_frames());
    response_->set_audio_seconds(audio_seconds_);
  }
  result_ = {};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    record_.summary = summary;
  }
  FinishCall(outcome);
}

void UnaryCall::FinishCall(const Status& status) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // What the client learns: its cancellation or deadline when gRPC cancelled the call.
    record_.outcome = cancelled_.ok() ? status : cancelled_;
  }
  Finish(rpc::ToGrpcStatus(status));
}

void UnaryCall::OnCancel() {
  std::shared_ptr<PitchJob> job;
  Status why = CancellationStatus(context_, *call_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_ = why;
    record_.outcome = why;
    job = job_;
  }
  if (job) job->Cancel(why);  // posts; the job finishes the call
}

void UnaryCall::OnDone() {
  handle_->Detach();
  CallRecord record;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    record = record_;
  }
  ReportCall(context_, record);
  delete this;
}

}  // namespace crepe::server
