#include "remote_predict.h"

#include <grpcpp/client_context.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "crepe/audio.h"
#include "frames_codec.h"
#include "status_mapping.h"

namespace crepe::client {
namespace {

// Room for the request's options and framing around the file's bytes.
constexpr int64_t kEnvelopeBytes = 1 << 20;
// Stream chunks: big enough to keep the server busy, small next to any message limit (the server's
// may be smaller than the one we were told, which is why we may be streaming at all).
constexpr int64_t kStreamChunkBytes = 256 << 10;

bool Retryable(const Status& s) {
  return s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kResourceExhausted;
}

// A request or response too large for one message: gRPC's own refusal ("... larger than max"),
// or crepe-server's ("... over the N MiB message limit", said before it sends a response that
// would be). Streaming gets through either way: it sends samples and results in pieces.
bool TooLargeForOneMessage(const Status& s) {
  return s.code() == StatusCode::kResourceExhausted && (s.message().find("larger than max") != std::string::npos ||
                                                        s.message().find("message limit") != std::string::npos);
}

std::chrono::system_clock::time_point Deadline(double seconds) {
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(seconds));
}

double Jitter() {
  thread_local std::mt19937 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.8, 1.2)(rng);
}

Result<std::string> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open '" + path + "'");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) return DataLossError("error reading '" + path + "'");
  return std::move(bytes).str();
}

// Samples [begin, end) of the interleaved buffer as little-endian float32 bytes.
std::string Float32Bytes(const std::vector<float>& samples, size_t begin, size_t end) {
  std::string out((end - begin) * 4, '\0');
  for (size_t i = begin; i < end; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &samples[i], 4);
    for (int b = 0; b < 4; ++b) out[4 * (i - begin) + b] = static_cast<char>((bits >> (8 * b)) & 0xff);
  }
  return out;
}

void TakeModel(const v1::ModelRef& model, RemoteResult& out) {
  out.model_name = model.name();
  out.weights_sha256 = model.weights_sha256();
  out.device = model.device();
}

}  // namespace

RemotePredictor::RemotePredictor(ServerPool& pool, rpc::AnalysisRequest request, RequestPolicy policy,
                                 std::function<void(const std::string&)> warn)
    : pool_(pool), request_(std::move(request)), policy_(policy), warn_(std::move(warn)) {}

Result<RemoteResult> RemotePredictor::Predict(const std::string& path, const std::string& request_id) const {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return NotFoundError("cannot read '" + path + "': " + ec.message());
  bool stream = static_cast<int64_t>(size) + kEnvelopeBytes > policy_.max_message_bytes;
  std::optional<v1::PredictRequest> unary;
  std::optional<AudioBuffer> samples;
  for (int attempt = 0;; ++attempt) {
    // Read once, reuse for every attempt.
    if (!stream && !unary) {
      CREPE_ASSIGN_OR_RETURN(std::string bytes, ReadBytes(path));
      unary.emplace();
      rpc::EncodeOptions(request_, unary->mutable_options());
      unary->mutable_audio()->set_encoded(std::move(bytes));
      unary->set_request_id(request_id);
    } else if (stream && !samples) {
      unary.reset();
      CREPE_ASSIGN_OR_RETURN(AudioBuffer audio, ReadAudioFile(path));
      samples = std::move(audio);
    }
    const ServerPool::Lease server = pool_.Acquire();
    RemoteResult result;
    result.server = *server.address;
    result.attempts = attempt + 1;
    const Status s = stream ? CallStream(server, *samples, request_id, result) : CallUnary(server, *unary, result);
    pool_.Release(server, s);
    if (s.ok()) return result;
    if (!stream && TooLargeForOneMessage(s)) {
      if (warn_) warn_(path + ": too large for one message on " + result.server + "; streaming it instead");
      stream = true;
      continue;
    }
    const std::string where = "on " + result.server + " (attempt " + std::to_string(attempt + 1) + " of " +
                              std::to_string(policy_.retries + 1) + ")";
    // Too large even in pieces would be too large again: no retry.
    if (!Retryable(s) || TooLargeForOneMessage(s) || attempt >= policy_.retries) return s.WithContext(where);
    // An unavailable server cools down in the pool (Acquire waits for it, or takes another);
    // a busy one (RESOURCE_EXHAUSTED) is given time here.
    double delay = 0;
    if (s.code() == StatusCode::kResourceExhausted) {
      delay = std::min(policy_.backoff_initial_s * std::pow(2.0, attempt), policy_.backoff_max_s) * Jitter();
    }
    if (warn_) {
      char wait[48] = "";
      if (delay > 0) std::snprintf(wait, sizeof wait, " in %.1f s", delay);
      warn_(path + ": " + s.ToString() + " " + where + "; retrying" + wait);
    }
    if (delay > 0) std::this_thread::sleep_for(std::chrono::duration<double>(delay));
  }
}

Status RemotePredictor::CallUnary(const ServerPool::Lease& server, const v1::PredictRequest& request,
                                  RemoteResult& out) const {
  grpc::ClientContext context;
  context.set_deadline(Deadline(policy_.timeout_s));
  v1::PredictResponse response;
  CREPE_RETURN_IF_ERROR(rpc::FromGrpcStatus(server.stub->Predict(&context, request, &response)));
  CREPE_RETURN_IF_ERROR(rpc::AppendFrames(response.frames(), out.prediction));
  TakeModel(response.model(), out);
  out.audio_seconds = response.audio_seconds();
  return Status::Ok();
}

Status RemotePredictor::CallStream(const ServerPool::Lease& server, const AudioBuffer& audio,
                                   const std::string& request_id, RemoteResult& out) const {
  grpc::ClientContext context;
  context.set_deadline(Deadline(policy_.timeout_s));
  auto stream = server.stub->StreamPredict(&context);
  const size_t channels = static_cast<size_t>(std::max(audio.channels, 1));
  const size_t chunk_frames = std::max<size_t>(1, static_cast<size_t>(kStreamChunkBytes) / (4 * channels));
  // The writer runs beside the reader: the server sends frames while audio still arrives, and
  // flow control would stall a client that only read after writing everything.
  std::thread writer([&] {
    v1::StreamRequest config;
    v1::StreamConfig* c = config.mutable_config();
    rpc::EncodeOptions(request_, c->mutable_options());
    c->set_sample_rate_hz(audio.sample_rate);
    c->set_channels(audio.channels);
    c->set_format(v1::SAMPLE_FORMAT_FLOAT32);
    c->set_request_id(request_id);
    bool ok = stream->Write(config);
    for (size_t frame = 0; ok && frame < static_cast<size_t>(audio.frames()); frame += chunk_frames) {
      const size_t end = std::min(frame + chunk_frames, static_cast<size_t>(audio.frames()));
      v1::StreamRequest chunk;
      chunk.set_audio(Float32Bytes(audio.samples, frame * channels, end * channels));
      ok = stream->Write(chunk);
    }
    if (ok) stream->WritesDone();
  });
  Status received = Status::Ok();
  bool summarised = false;
  v1::StreamResponse response;
  while (stream->Read(&response)) {
    if (response.has_started()) {
      TakeModel(response.started(), out);
    } else if (response.has_frames()) {
      if (received.ok()) received = rpc::AppendFrames(response.frames(), out.prediction);
      if (!received.ok()) context.TryCancel();
    } else if (response.has_summary()) {
      summarised = true;
      out.audio_seconds = response.summary().audio_seconds();
      if (received.ok() && response.summary().frames() != out.prediction.frames()) {
        received = DataLossError("the stream's summary counts " + std::to_string(response.summary().frames()) +
                                 " frames, " + std::to_string(out.prediction.frames()) + " arrived");
      }
    }
  }
  // Reads end when the call is over, and then the writer's next Write fails: it is done too.
  writer.join();
  const Status finished = rpc::FromGrpcStatus(stream->Finish());
  if (!received.ok()) return received;
  CREPE_RETURN_IF_ERROR(finished);
  if (!summarised) return DataLossError("the stream ended without a summary");
  return Status::Ok();
}

}  // namespace crepe::client
