#include "service_context.h"

#include <algorithm>
#include <chrono>

#include "crepe/capacity.h"
#include "error_reasons.h"
#include "process_stats.h"

namespace crepe::server {

ServiceContext::ServiceContext(ModelRegistry& models_, ThreadPool& pool_, const ServerOptions& options_)
    : models(models_),
      pool(pool_),
      options(options_),
      admission(options_.max_requests, options_.max_requests_per_peer),
      housekeeper(options_.stream_idle_timeout_s, [this] { return admission.active(); }) {}

Result<ResolvedModel> ResolveModel(ServiceContext& context, const v1::PredictOptions& options) {
  ResolvedModel r;
  CREPE_ASSIGN_OR_RETURN(r.request, rpc::DecodeOptions(options));
  CREPE_ASSIGN_OR_RETURN(auto pair, context.models.Get(r.request.capacity));
  r.info = pair.first->info();
  r.batcher = pair.second;
  return r;
}

void ReportCall(ServiceContext& context, const CallRecord& record) {
  const double total_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - record.started).count();
  context.metrics.ObserveCall(record, total_seconds);
  LogCall(record);
}

std::string RenderMetrics(const ServiceContext& context) {
  ServiceMetrics::Gauges gauges;
  gauges.calls_in_flight = context.admission.active();
  gauges.streams_open = context.streams_open.load();
  return context.metrics.Render(context.models.Views(), gauges, ReadProcessStats());
}

Result<CallAdmission::Ticket> AdmitCall(ServiceContext& context, const std::string& peer_key) {
  if (context.shutting_down.load()) {
    return UnavailableError("the server is shutting down").WithReason(reasons::kShuttingDown);
  }
  if (!context.accepting.load()) return UnavailableError("the server is not serving yet (loading its models)");
  return context.admission.Admit(peer_key);
}

constexpr const char* kRequestIdKey = "x-request-id";

std::string RequestId(ServiceContext& context, const grpc::CallbackServerContext& call, const std::string& given) {
  if (!given.empty()) return given.substr(0, 256);
  const auto& metadata = call.client_metadata();
  if (const auto it = metadata.find(kRequestIdKey); it != metadata.end() && it->second.size() > 0) {
    return std::string(it->second.data(), std::min<size_t>(it->second.size(), 256));
  }
  return "r" + std::to_string(context.next_id.fetch_add(1));
}

void EchoRequestId(grpc::CallbackServerContext& call, const std::string& id) {
  call.AddInitialMetadata(kRequestIdKey, EscapeForLog(id));
}

BatchClient::Traits CallTraits(const ServiceContext& context, v1::Priority priority, Priority call_default,
                               const std::string& peer_key, const std::string& request_id, bool embeddings) {
  BatchClient::Traits t;
  t.priority = priority == v1::PRIORITY_INTERACTIVE ? Priority::kInteractive
               : priority == v1::PRIORITY_BULK      ? Priority::kBulk
                                                    : call_default;
  t.caller = peer_key;
  t.wants_embeddings = embeddings;
  const std::string& prefix = context.options.test_fail_request_prefix;
  t.fail_batches = !prefix.empty() && request_id.rfind(prefix, 0) == 0;
  return t;
}

JobLimits CallLimits(const ServiceContext& context, const FrameBatcher& batcher, bool stream) {
  JobLimits l;
  const int64_t batch = batcher.options().max_batch;
  l.window_frames = context.options.call_window_frames > 0 ? context.options.call_window_frames : 2 * batch;
  l.block_frames = batch;
  l.count_unsent = stream;
  l.max_held_bytes = stream ? int64_t{context.options.max_held_mb} << 20 : 0;
  return l;
}

Status CancellationStatus(const ServiceContext& context, const grpc::CallbackServerContext& call) {
  if (context.shutting_down.load()) {
    // What gRPC tells the client when shutdown cancels its calls: UNAVAILABLE, to be retried
    // elsewhere (crepe-client does).
    return UnavailableError("the server shut down before the call finished (its grace period ran out)")
        .WithReason(reasons::kShuttingDown);
  }
  // The server's deadline is its arrival time plus the remaining time the client sent, so it lies a
  // little after the client's own: the client's timer cancels the call up to the transit and
  // scheduling delay before it (seen 2.4 ms early on a loaded machine). Within that slack, a
  // cancellation is the deadline's.
  constexpr auto kDeadlineSlack = std::chrono::milliseconds(100);
  if (call.deadline() <= std::chrono::system_clock::now() + kDeadlineSlack) {
    return {StatusCode::kDeadlineExceeded, "the call's deadline passed"};
  }
  return CancelledError("the client cancelled the call");
}

int64_t BytesPerFrame(const rpc::WireOutputs& outputs, int embedding_width) {
  const int64_t value = outputs.float16 ? 2 : 4;
  int64_t bytes = 9 + 5 * 3 + 8;
  if (outputs.activations) bytes += kPitchBins * value;
  if (outputs.embeddings) bytes += int64_t{kEmbeddingRows} * embedding_width * value;
  return bytes;
}

int64_t MessageLimitBytes(const ServiceContext& context) { return int64_t{context.options.max_message_mb} << 20; }

void FillModelRef(const ModelInfo& info, v1::ModelRef* ref) {
  ref->set_capacity(rpc::CapacityToWire(info.capacity));
  ref->set_name(std::string(CapacityName(info.capacity)));
  ref->set_weights_sha256(info.weights_sha256);
  ref->set_device(info.device);
}

}  // namespace crepe::server
