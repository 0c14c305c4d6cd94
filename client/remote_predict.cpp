#include "remote_predict.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "crepe/audio.h"
#include "crepe/file_io.h"
#include "frames_codec.h"
#include "remote_call.h"

namespace crepe::client {
namespace {

// Room for the request's options and framing around the file's bytes.
constexpr int64_t kEnvelopeBytes = 1 << 20;
// Stream chunks: big enough to keep the server busy, small next to any message limit (the server's
// may be smaller than the one we were told, which is why we may be streaming at all).
constexpr int64_t kStreamChunkBytes = 256 << 10;

std::chrono::system_clock::time_point Deadline(double seconds) {
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(seconds));
}

double Jitter() {
  thread_local std::mt19937 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.8, 1.2)(rng);
}

void TakeModel(const v1::ModelRef& model, RemoteResult& out) {
  out.model_name = model.name();
  out.weights_sha256 = model.weights_sha256();
  out.device = model.device();
}

Result<RemoteResult> FromUnary(const v1::PredictResponse& response) {
  RemoteResult out;
  CREPE_RETURN_IF_ERROR(rpc::AppendFrames(response.frames(), out.prediction));
  TakeModel(response.model(), out);
  out.audio_seconds = response.audio_seconds();
  return out;
}

Result<RemoteResult> FromStream(std::vector<v1::StreamResponse> responses) {
  RemoteResult out;
  bool summarised = false;
  for (v1::StreamResponse& response : responses) {
    if (response.has_started()) {
      TakeModel(response.started(), out);
    } else if (response.has_frames()) {
      CREPE_RETURN_IF_ERROR(rpc::AppendFrames(response.frames(), out.prediction));
    } else if (response.has_summary()) {
      summarised = true;
      out.audio_seconds = response.summary().audio_seconds();
      if (response.summary().frames() != out.prediction.frames()) {
        return DataLossError("the stream's summary counts " + std::to_string(response.summary().frames()) +
                             " frames, " + std::to_string(out.prediction.frames()) + " arrived");
      }
    }
    response.Clear();  // decoded: its memory can go
  }
  if (!summarised) return DataLossError("the stream ended without a summary");
  return out;
}

}  // namespace

// One input's state. Every method runs on a worker, one at a time (see the header); closures
// hold the job alive while a step is pending.
class RemotePredictor::Job : public std::enable_shared_from_this<Job> {
 public:
  Job(const RemotePredictor& owner, std::string path, std::string request_id, Done done)
      : owner_(owner), path_(std::move(path)), request_id_(std::move(request_id)), done_(std::move(done)) {}

  void Start() {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path_, ec);
    if (ec) return Finish(NotFoundError("cannot read '" + path_ + "': " + ec.message()));
    streaming_ = static_cast<int64_t>(size) + kEnvelopeBytes > owner_.policy_.max_message_bytes;
    if (Status s = Prepare(); !s.ok()) return Finish(s);
    Attempt();
  }

 private:
  // The request(s) of the current mode, made once and reused by every attempt.
  Status Prepare() {
    if (!streaming_) {
      CREPE_ASSIGN_OR_RETURN(std::string bytes, ReadFileBytes(path_));
      rpc::EncodeOptions(owner_.request_, unary_.mutable_options());
      unary_.mutable_audio()->set_encoded(std::move(bytes));
      unary_.set_request_id(request_id_);
      unary_.set_priority(v1::PRIORITY_BULK);
      return Status::Ok();
    }
    unary_.Clear();
    CREPE_ASSIGN_OR_RETURN(AudioBuffer audio, ReadAudioFile(path_));
    stream_.clear();
    v1::StreamConfig* config = stream_.emplace_back().mutable_config();
    rpc::EncodeOptions(owner_.request_, config->mutable_options());
    config->set_sample_rate_hz(audio.sample_rate);
    config->set_channels(audio.channels);
    config->set_format(v1::SAMPLE_FORMAT_FLOAT32);
    config->set_request_id(request_id_);
    config->set_priority(v1::PRIORITY_BULK);
    const size_t channels = static_cast<size_t>(std::max(audio.channels, 1));
    const size_t frames = static_cast<size_t>(audio.frames());
    const size_t chunk_frames = std::max<size_t>(1, static_cast<size_t>(kStreamChunkBytes) / (4 * channels));
    for (size_t frame = 0; frame < frames; frame += chunk_frames) {
      const size_t end = std::min(frame + chunk_frames, frames);
      stream_.emplace_back().set_audio(
          rpc::EncodePcm(audio.samples.data() + frame * channels, (end - frame) * channels, v1::SAMPLE_FORMAT_FLOAT32));
    }
    return Status::Ok();
  }

  void Attempt() {
    ServerPool::Clock::time_point retry_at;
    std::optional<ServerPool::Lease> lease = owner_.pool_.TryAcquire(&retry_at);
    if (!lease) {  // every server is cooling down: come back when the first is due
      owner_.delays_.PostAt(retry_at, [self = shared_from_this()] { self->Attempt(); });
      return;
    }
    lease_ = *lease;
    ThreadPool& workers = owner_.workers_;
    const auto deadline = Deadline(owner_.policy_.timeout_s);
    if (streaming_) {
      StartStream(lease_.stub, stream_, deadline,
                  [self = shared_from_this(), &workers](Status s, std::vector<v1::StreamResponse> responses) {
                    workers.Post([self, s = std::move(s), responses = std::move(responses)]() mutable {
                      self->Completed(s, [&] { return FromStream(std::move(responses)); });
                    });
                  });
    } else {
      StartUnary(lease_.stub, unary_, deadline,
                 [self = shared_from_this(), &workers](Status s, v1::PredictResponse response) {
                   workers.Post([self, s = std::move(s), response = std::move(response)] {
                     self->Completed(s, [&] { return FromUnary(response); });
                   });
                 });
    }
  }

  template <typename Decode>
  void Completed(const Status& call, Decode decode) {
    owner_.pool_.Release(lease_, call);
    const std::string server = *lease_.address;
    if (!call.ok()) return AfterFailure(call, server);
    Result<RemoteResult> result = decode();
    if (result.ok()) result->server = server;
    Finish(std::move(result));
  }

  void AfterFailure(const Status& s, const std::string& server) {
    const NextStep next = NextStepAfter(s, streaming_);
    if (next == NextStep::kStream) {
      Warn(path_ + ": too large for one message on " + server + "; streaming it instead");
      streaming_ = true;
      if (Status p = Prepare(); !p.ok()) return Finish(p);
      return Attempt();
    }
    const std::string where = "on " + server + " (attempt " + std::to_string(retries_ + 1) + " of " +
                              std::to_string(owner_.policy_.retries + 1) + ")";
    if (next == NextStep::kFail || retries_ >= owner_.policy_.retries) return Finish(s.WithContext(where));
    ++retries_;
    if (next == NextStep::kRetry) {
      Warn(path_ + ": " + s.ToString() + " " + where + "; retrying");
      return Attempt();
    }
    const double delay = BackOffSeconds(owner_.policy_, backoffs_++, Jitter());
    char wait[48];
    std::snprintf(wait, sizeof wait, " in %.1f s", delay);
    Warn(path_ + ": " + s.ToString() + " " + where + "; retrying" + wait);
    owner_.delays_.PostAt(DelayQueue::Clock::now() + std::chrono::duration_cast<DelayQueue::Clock::duration>(
                                                         std::chrono::duration<double>(delay)),
                          [self = shared_from_this()] { self->Attempt(); });
  }

  void Warn(const std::string& line) const {
    if (owner_.warn_) owner_.warn_(line);
  }

  void Finish(Result<RemoteResult> result) {
    unary_.Clear();
    stream_.clear();
    done_(std::move(result));
  }

  const RemotePredictor& owner_;
  const std::string path_;
  const std::string request_id_;
  const Done done_;
  bool streaming_ = false;
  v1::PredictRequest unary_;
  std::vector<v1::StreamRequest> stream_;
  ServerPool::Lease lease_;
  int retries_ = 0;   // retries so far, of policy.retries
  int backoffs_ = 0;  // of them, after a back-off (each waits twice as long as the one before)
};

RemotePredictor::RemotePredictor(ServerPool& pool, ThreadPool& workers, DelayQueue& delays,
                                 rpc::AnalysisRequest request, RequestPolicy policy,
                                 std::function<void(const std::string&)> warn)
    : pool_(pool),
      workers_(workers),
      delays_(delays),
      request_(std::move(request)),
      policy_(policy),
      warn_(std::move(warn)) {}

void RemotePredictor::Predict(const std::string& path, const std::string& request_id, Done done) {
  auto job = std::make_shared<Job>(*this, path, request_id, std::move(done));
  workers_.Post([job] { job->Start(); });
}

}  // namespace crepe::client
