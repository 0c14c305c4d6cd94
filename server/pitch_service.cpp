#include "pitch_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <memory>
#include <mutex>
#include <utility>

#include "crepe/audio.h"
#include "crepe/frames.h"
#include "frames_codec.h"
#include "pitch_job.h"
#include "request_codec.h"
#include "status_mapping.h"

namespace crepe::server {
namespace {

using Shared = PitchService::Shared;

// Counts a call against --max-requests for as long as it lives.
class CallSlot {
 public:
  explicit CallSlot(Shared& shared) : shared_(shared) { count_ = shared_.active.fetch_add(1) + 1; }
  ~CallSlot() { shared_.active.fetch_sub(1); }
  CallSlot(const CallSlot&) = delete;
  CallSlot& operator=(const CallSlot&) = delete;
  // UNAVAILABLE while starting or stopping, RESOURCE_EXHAUSTED when too many calls are running.
  Status Admit() const {
    if (!shared_.accepting.load()) return UnavailableError("the server is not serving (starting up or shutting down)");
    if (count_ > shared_.options.max_requests) {
      return ResourceExhaustedError("the server is handling " + std::to_string(shared_.options.max_requests) +
                                    " calls already; retry later");
    }
    return Status::Ok();
  }

 private:
  Shared& shared_;
  int count_ = 0;
};

std::string RequestId(Shared& shared, const std::string& given) {
  return given.empty() ? "r" + std::to_string(shared.next_id.fetch_add(1)) : given.substr(0, 128);
}

int64_t MessageLimitBytes(const Shared& shared) { return int64_t{shared.options.max_message_mb} << 20; }

// Wire bytes one frame of output takes (a generous estimate, for the message size limits).
int64_t BytesPerFrame(const rpc::WireOutputs& outputs, int embedding_width) {
  const int64_t value = outputs.float16 ? 2 : 4;
  int64_t bytes = 9 + 5 * 3 + 8;
  if (outputs.activations) bytes += kPitchBins * value;
  if (outputs.embeddings) bytes += int64_t{kEmbeddingRows} * embedding_width * value;
  return bytes;
}

void FillModelRef(const ModelInfo& info, v1::ModelRef* ref) {
  ref->set_capacity(rpc::CapacityToWire(info.capacity));
  ref->set_name(std::string(CapacityName(info.capacity)));
  ref->set_weights_sha256(info.weights_sha256);
  ref->set_device(info.device);
}

struct Resolved {
  rpc::AnalysisRequest request;
  Model* model = nullptr;
  FrameBatcher* batcher = nullptr;
};

Result<Resolved> Resolve(Shared& shared, const v1::PredictOptions& options) {
  Resolved r;
  CREPE_ASSIGN_OR_RETURN(r.request, rpc::DecodeOptions(options));
  CREPE_ASSIGN_OR_RETURN(auto pair, shared.models.Get(r.request.capacity));
  r.model = pair.first;
  r.batcher = pair.second;
  return r;
}

// ---------------------------------------------------------------------------------------------
// Predict: one clip in, one response out.
class UnaryCall final : public grpc::ServerUnaryReactor, public JobSink {
 public:
  UnaryCall(Shared& shared, grpc::CallbackServerContext* context, const v1::PredictRequest* request,
            v1::PredictResponse* response)
      : shared_(shared),
        slot_(shared),
        context_(context),
        request_(request),
        response_(response),
        handle_(std::make_shared<SinkHandle>(this)),
        id_(RequestId(shared, request->request_id())) {
    const Status admitted = slot_.Admit();
    if (!admitted.ok()) {
      FinishOnce(admitted);
      return;
    }
    shared_.pool.Post([this, handle = handle_] { handle->With([&](JobSink&) { Start(); }); });
  }

  void OnResults(Prediction rows, int64_t first_frame) override {
    if (first_frame != result_.frames()) return;  // cannot happen: jobs deliver in order
    Append(std::move(rows));
  }

  void OnFinished(const Status& status, const JobSummary&) override {
    if (status.ok()) {
      response_->set_request_id(id_);
      FillModelRef(info_, response_->mutable_model());
      rpc::EncodeFrames(result_, 0, outputs_, response_->mutable_frames());
      response_->set_audio_seconds(audio_seconds_);
    }
    FinishOnce(status);  // last: the call may end (and this object go) inside
  }

  void OnCancel() override {
    std::shared_ptr<PitchJob> job;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      cancelled_ = true;
      job = job_;
    }
    if (job) job->Cancel(CancelledError("the client cancelled the call or its deadline passed"));
  }

  void OnDone() override {
    handle_->Detach();
    delete this;
  }

 private:
  // On the worker pool: validate, decode, and start the job.
  void Start() {
    const Status s = StartJob();
    if (!s.ok()) FinishOnce(s.WithContext("request " + id_));
  }

  Status StartJob() {
    CREPE_ASSIGN_OR_RETURN(Resolved r, Resolve(shared_, request_->options()));
    outputs_ = r.request.outputs;
    info_ = r.model->info();
    CREPE_ASSIGN_OR_RETURN(AudioBuffer audio, rpc::DecodeAudio(request_->audio()));
    audio_seconds_ = static_cast<double>(audio.frames()) / audio.sample_rate;
    // Refuse up front what could never be answered: a response over the message limit, or more
    // frames than the queue holds.
    const PredictOptions& o = r.request.options;
    auto grid = FrameGrid::Make(ResampledLength(audio.frames(), audio.sample_rate), audio.sample_rate, o.hop, o.center);
    if (grid.ok()) {
      const int64_t bytes = grid->size() * BytesPerFrame(outputs_, info_.embedding_width);
      if (bytes > MessageLimitBytes(shared_)) {
        return ResourceExhaustedError("the response would take about " + std::to_string(bytes >> 20) +
                                      " MiB, over the " + std::to_string(shared_.options.max_message_mb) +
                                      " MiB message limit: use StreamPredict, FLOAT16 tensors or fewer outputs");
      }
      if (grid->size() > shared_.options.max_queued_frames) {
        return InvalidArgumentError("the clip has " + std::to_string(grid->size()) +
                                    " frames, more than the server queues at once (" +
                                    std::to_string(shared_.options.max_queued_frames) + "): use StreamPredict");
      }
    }
    SessionConfig config{audio.sample_rate, audio.channels, o, info_.embedding_width};
    CREPE_ASSIGN_OR_RETURN(
        std::shared_ptr<PitchJob> job,
        PitchJob::Make(config, id_, std::string(CapacityName(info_.capacity)), *r.batcher, shared_.pool, handle_));
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = job;
      if (cancelled_) return CancelledError("the client cancelled the call");
    }
    job->PushAudio(std::move(audio));
    job->EndOfAudio();
    return Status::Ok();
  }

  void Append(Prediction rows) {
    Prediction& p = result_;
    p.embedding_width = rows.embedding_width;
    p.time.insert(p.time.end(), rows.time.begin(), rows.time.end());
    p.frequency.insert(p.frequency.end(), rows.frequency.begin(), rows.frequency.end());
    p.confidence.insert(p.confidence.end(), rows.confidence.begin(), rows.confidence.end());
    p.periodicity.insert(p.periodicity.end(), rows.periodicity.begin(), rows.periodicity.end());
    p.activations.insert(p.activations.end(), rows.activations.begin(), rows.activations.end());
    p.embeddings.insert(p.embeddings.end(), rows.embeddings.begin(), rows.embeddings.end());
  }

  void FinishOnce(const Status& status) {
    if (finished_.exchange(true)) return;
    Finish(rpc::ToGrpcStatus(status));
  }

  Shared& shared_;
  CallSlot slot_;
  grpc::CallbackServerContext* context_;
  const v1::PredictRequest* request_;
  v1::PredictResponse* response_;
  std::shared_ptr<SinkHandle> handle_;
  const std::string id_;
  std::mutex mutex_;
  std::shared_ptr<PitchJob> job_;
  bool cancelled_ = false;
  std::atomic<bool> finished_{false};
  rpc::WireOutputs outputs_;
  ModelInfo info_;
  double audio_seconds_ = 0;
  Prediction result_;
};

// ---------------------------------------------------------------------------------------------
// StreamPredict: a config message, then audio chunks; results as they become final.
class StreamCall final : public grpc::ServerBidiReactor<v1::StreamRequest, v1::StreamResponse>, public JobSink {
 public:
  StreamCall(Shared& shared, grpc::CallbackServerContext* context)
      : shared_(shared), slot_(shared), context_(context), handle_(std::make_shared<SinkHandle>(this)) {
    const Status admitted = slot_.Admit();
    if (!admitted.ok()) {
      std::lock_guard<std::mutex> lock(mutex_);
      FinishLocked(admitted);
      return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    reading_ = true;
    StartRead(&incoming_);
  }

  void OnReadDone(bool ok) override {
    std::unique_lock<std::mutex> lock(mutex_);
    reading_ = false;
    if (finishing_) return;
    if (!ok) {  // the client half-closed (or went away)
      half_closed_ = true;
      if (!job_) return FinishLocked(InvalidArgumentError("the stream ended before its config message"));
      std::shared_ptr<PitchJob> job = job_;
      lock.unlock();
      job->EndOfAudio();
      return;
    }
    if (!job_) return StartJobLocked();
    if (incoming_.message_case() != v1::StreamRequest::kAudio) {
      return FailLocked(InvalidArgumentError("after the config message, a stream carries only audio"));
    }
    Result<AudioBuffer> chunk = rpc::DecodePcm(format_, sample_rate_, channels_, incoming_.audio());
    if (!chunk.ok()) return FailLocked(chunk.status().WithContext("audio chunk"));
    std::shared_ptr<PitchJob> job = job_;
    lock.unlock();
    job->PushAudio(std::move(*chunk));  // the job asks for the next chunk when it has room
  }

  void OnReadyForAudio() override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (reading_ || half_closed_ || finishing_) return;
    reading_ = true;
    StartRead(&incoming_);
  }

  void OnResults(Prediction rows, int64_t first_frame) override {
    // Split so that every message stays well below the message limit.
    const int64_t per_frame = BytesPerFrame(outputs_, rows.embedding_width);
    const int64_t max_frames = std::max<int64_t>(1, MessageLimitBytes(shared_) / 2 / per_frame);
    const int64_t n = rows.frames();
    for (int64_t start = 0; start < n; start += max_frames) {
      const int64_t count = std::min(max_frames, n - start);
      v1::StreamResponse message;
      rpc::EncodeFrames(Slice(rows, start, count), first_frame + start, outputs_, message.mutable_frames());
      Send(std::move(message));
    }
  }

  void OnFinished(const Status& status, const JobSummary& summary) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!status.ok()) return FailLocked(status);
    v1::StreamResponse message;
    message.mutable_summary()->set_frames(summary.frames);
    message.mutable_summary()->set_audio_seconds(summary.audio_seconds);
    pending_.push_back(std::move(message));
    FinishLocked(Status::Ok());
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mutex_);
    writing_ = false;
    if (!ok) pending_.clear();  // the client is gone; OnCancel follows
    PumpLocked();
  }

  void OnCancel() override {
    std::shared_ptr<PitchJob> job;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job = job_;
      pending_.clear();
      FinishLocked(CancelledError("the client cancelled the stream or its deadline passed"));
    }
    if (job) job->Cancel(CancelledError("the client cancelled the stream"));
  }

  void OnDone() override {
    handle_->Detach();
    delete this;
  }

 private:
  static Prediction Slice(const Prediction& p, int64_t start, int64_t count) {
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

  void StartJobLocked() {
    if (incoming_.message_case() != v1::StreamRequest::kConfig) {
      return FailLocked(InvalidArgumentError("the first message of a stream must be its config"));
    }
    const v1::StreamConfig& config = incoming_.config();
    const Status s = [&]() -> Status {
      CREPE_ASSIGN_OR_RETURN(Resolved r, Resolve(shared_, config.options()));
      outputs_ = r.request.outputs;
      format_ = config.format();
      sample_rate_ = config.sample_rate_hz();
      channels_ = config.channels() == 0 ? 1 : config.channels();
      // Checks the format, rate and channels before any audio arrives.
      CREPE_RETURN_IF_ERROR(rpc::DecodePcm(format_, sample_rate_, channels_, std::string()).status());
      const ModelInfo& info = r.model->info();
      SessionConfig session{sample_rate_, channels_, r.request.options, info.embedding_width};
      CREPE_ASSIGN_OR_RETURN(
          job_, PitchJob::Make(session, RequestId(shared_, config.request_id()),
                               std::string(CapacityName(info.capacity)), *r.batcher, shared_.pool, handle_));
      v1::StreamResponse started;
      FillModelRef(info, started.mutable_started());
      pending_.push_back(std::move(started));
      PumpLocked();
      return Status::Ok();
    }();
    if (!s.ok()) return FailLocked(s.WithContext("stream config"));
    reading_ = true;
    StartRead(&incoming_);
  }

  void Send(v1::StreamResponse message) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finishing_ && !finish_status_.ok()) return;
    pending_.push_back(std::move(message));
    PumpLocked();
  }

  // Starts the next write, or finishes the call once everything is written.
  void PumpLocked() {
    if (writing_) return;
    if (!pending_.empty()) {
      outgoing_ = std::move(pending_.front());
      pending_.pop_front();
      writing_ = true;
      StartWrite(&outgoing_);
      return;
    }
    if (finishing_ && !finished_) {
      finished_ = true;
      Finish(rpc::ToGrpcStatus(finish_status_));
    }
  }

  void FailLocked(const Status& status) {
    if (job_) {
      std::shared_ptr<PitchJob> job = job_;
      shared_.pool.Post([job, status] { job->Cancel(status); });
    }
    pending_.clear();
    FinishLocked(status);
  }

  void FinishLocked(const Status& status) {
    if (finishing_) return;
    finishing_ = true;
    finish_status_ = status;
    PumpLocked();
  }

  Shared& shared_;
  CallSlot slot_;
  grpc::CallbackServerContext* context_;
  std::shared_ptr<SinkHandle> handle_;
  std::mutex mutex_;
  v1::StreamRequest incoming_;
  v1::StreamResponse outgoing_;
  std::deque<v1::StreamResponse> pending_;
  bool reading_ = false, writing_ = false, half_closed_ = false;
  bool finishing_ = false, finished_ = false;
  Status finish_status_;
  std::shared_ptr<PitchJob> job_;
  rpc::WireOutputs outputs_;
  v1::SampleFormat format_ = v1::SAMPLE_FORMAT_UNSPECIFIED;
  int sample_rate_ = 0;
  int channels_ = 1;
};

}  // namespace

PitchService::PitchService(ModelRegistry& models, ThreadPool& pool, const ServerOptions& options)
    : shared_{models, pool, options, accepting_} {}

grpc::ServerUnaryReactor* PitchService::Predict(grpc::CallbackServerContext* context, const v1::PredictRequest* request,
                                                v1::PredictResponse* response) {
  return new UnaryCall(shared_, context, request, response);
}

grpc::ServerBidiReactor<v1::StreamRequest, v1::StreamResponse>* PitchService::StreamPredict(
    grpc::CallbackServerContext* context) {
  return new StreamCall(shared_, context);
}

grpc::ServerUnaryReactor* PitchService::ListModels(grpc::CallbackServerContext* context, const v1::ListModelsRequest*,
                                                   v1::ListModelsResponse* response) {
  for (const ModelView& view : shared_.models.Views()) {
    v1::ModelStatus* m = response->add_models();
    ModelInfo info = view.info;
    info.capacity = view.capacity;
    FillModelRef(info, m->mutable_model());
    m->set_state(view.state == ModelState::kReady     ? v1::ModelStatus::STATE_READY
                 : view.state == ModelState::kLoading ? v1::ModelStatus::STATE_LOADING
                                                      : v1::ModelStatus::STATE_FAILED);
    m->set_error(view.error);
    m->set_embedding_width(ArchitectureOf(view.capacity).embedding_width);
    m->set_frames_processed(view.stats.frames);
    m->set_batches_run(view.stats.batches);
    m->set_max_batch_frames(view.max_batch);
    m->set_batches_shared(view.stats.shared_batches);
    m->set_largest_batch(view.stats.largest_batch);
    m->set_queued_frames(view.stats.queued_frames);
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace crepe::server
