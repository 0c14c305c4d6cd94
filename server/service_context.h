// What the call reactors of crepe.v1.PitchService share: the models, the worker pool, the
// settings, who is admitted, the housekeeper, and the service's own state. Thread-safe: the
// members are either immutable after start-up or thread-safe themselves.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "call_admission.h"
#include "call_log.h"
#include "crepe/thread_pool.h"
#include "crepe/v1/pitch.pb.h"
#include "frame_batcher.h"
#include "housekeeper.h"
#include "model_registry.h"
#include "pitch_job.h"
#include "request_codec.h"
#include "server_options.h"
#include "service_metrics.h"

namespace crepe::server {

struct ServiceContext {
  ServiceContext(ModelRegistry& models, ThreadPool& pool, const ServerOptions& options);

  ModelRegistry& models;
  ThreadPool& pool;
  const ServerOptions options;
  std::atomic<bool> accepting{false};      // off while starting up and shutting down
  std::atomic<bool> shutting_down{false};  // set on SIGTERM/SIGINT
  CallAdmission admission;
  Housekeeper housekeeper;
  std::atomic<int64_t> next_id{1};
  ServiceMetrics metrics;
  std::atomic<int64_t> streams_open{0};
};

// A Predict or StreamPredict call has ended: its log line and its metrics.
void ReportCall(ServiceContext& context, const CallRecord& record);

// What the metrics endpoint serves: the service's metrics as of now.
std::string RenderMetrics(const ServiceContext& context);

// What a call's options resolve to: the request, and the model's batcher and facts.
struct ResolvedModel {
  rpc::AnalysisRequest request;
  FrameBatcher* batcher = nullptr;
  ModelInfo info;
};
Result<ResolvedModel> ResolveModel(ServiceContext& context, const v1::PredictOptions& options);

// Admission of a new call: UNAVAILABLE while not serving, then the slot limits.
Result<CallAdmission::Ticket> AdmitCall(ServiceContext& context, const std::string& peer_key);

// The request id to log and echo: the request's field if set, else the call's x-request-id
// metadata (what tracing proxies and other services send), else one made up.
std::string RequestId(ServiceContext& context, const grpc::CallbackServerContext& call, const std::string& given);

// Sends the id back as the response's x-request-id metadata (escaped to printable ASCII, as the
// log line shows it). Call before anything of the response is sent.
void EchoRequestId(grpc::CallbackServerContext& call, const std::string& id);

// The batcher's view of a call, and its limits.
BatchClient::Traits CallTraits(const ServiceContext& context, v1::Priority priority, Priority call_default,
                               const std::string& peer_key, const std::string& request_id, bool embeddings);
JobLimits CallLimits(const ServiceContext& context, const FrameBatcher& batcher, bool stream);

// Why a call gRPC cancelled was cancelled: shutdown, its deadline, or its client.
Status CancellationStatus(const ServiceContext& context, const grpc::CallbackServerContext& call);

// Wire bytes one frame of output takes (a generous estimate, for the message size limits).
int64_t BytesPerFrame(const rpc::WireOutputs& outputs, int embedding_width);
int64_t MessageLimitBytes(const ServiceContext& context);

void FillModelRef(const ModelInfo& info, v1::ModelRef* ref);

}  // namespace crepe::server
