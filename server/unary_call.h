// Predict: one clip in, one response out (gRPC callback API).
//
// Threads and who finishes the call: the constructor (a gRPC thread) admits it or finishes it at
// once; otherwise Start runs on the worker pool (decoding the request there, not on gRPC's
// thread) and either finishes it with an error or hands it to a PitchJob, which finishes it
// through OnFinished on the job's strand. OnCancel (a gRPC thread) only marks the call and cancels
// its job; it never waits and never finishes the call itself, so exactly one party calls Finish,
// always as its last action (OnDone, on gRPC's executor, may delete the call right after).
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <mutex>

#include "crepe/v1/pitch.grpc.pb.h"
#include "service_context.h"

namespace crepe::server {

class UnaryCall final : public grpc::ServerUnaryReactor, public JobSink {
 public:
  UnaryCall(ServiceContext& context, grpc::CallbackServerContext* call, const v1::PredictRequest* request,
            v1::PredictResponse* response);

  // JobSink (the job's strand).
  void OnResults(Prediction rows, int64_t first_frame) override;
  void OnFinished(const Status& status, const JobSummary& summary) override;

  // gRPC.
  void OnCancel() override;
  void OnDone() override;

 private:
  void Start();
  Status StartJob();
  void FinishCall(const Status& status);  // last action of its caller

  ServiceContext& context_;
  grpc::CallbackServerContext* const call_;
  const v1::PredictRequest* const request_;
  v1::PredictResponse* const response_;
  const std::shared_ptr<SinkHandle> handle_;
  CallAdmission::Ticket ticket_;
  rpc::WireOutputs outputs_;  // set by Start, before the job exists
  ModelInfo info_;
  double audio_seconds_ = 0;
  Prediction result_;  // the job's strand
  Status rows_error_;  // the job's strand: rows that did not follow on
  std::mutex mutex_;   // guards what follows
  std::shared_ptr<PitchJob> job_;
  Status cancelled_;  // why gRPC cancelled the call (OK: it did not)
  CallRecord record_;
};

}  // namespace crepe::server
