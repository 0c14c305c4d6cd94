#include "remote_call.h"

#include <grpcpp/client_context.h>
#include <grpcpp/support/client_callback.h>

#include <memory>

#include "status_mapping.h"

namespace crepe::client {
namespace {

// Lives until gRPC reports the call done; the context and response must outlive the call.
struct UnaryCall {
  grpc::ClientContext context;
  v1::PredictResponse response;
};

// One StreamPredict call. Every reaction runs on a gRPC thread and only moves messages. A read
// and a write may complete at once: OnReadDone and OnWriteDone touch disjoint members. The
// reactor deletes itself in OnDone, gRPC's last call into it.
class StreamCall final : public grpc::ClientBidiReactor<v1::StreamRequest, v1::StreamResponse> {
 public:
  StreamCall(v1::PitchService::Stub* stub, const std::vector<v1::StreamRequest>& messages,
             std::chrono::system_clock::time_point deadline, StreamDone done)
      : messages_(messages), done_(std::move(done)) {
    context_.set_deadline(deadline);
    stub->async()->StreamPredict(&context_, this);
    StartRead(&response_);
    WriteNext();
    StartCall();
  }

  void OnWriteDone(bool ok) override {
    if (ok) WriteNext();  // otherwise the call is over, and OnDone says how
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;  // the server has closed the stream
    responses_.push_back(std::move(response_));
    response_.Clear();
    StartRead(&response_);
  }
  void OnDone(const grpc::Status& status) override {
    done_(rpc::FromGrpcStatus(status), std::move(responses_));
    delete this;
  }

 private:
  void WriteNext() {
    if (next_ < messages_.size()) {
      StartWrite(&messages_[next_++]);
    } else {
      StartWritesDone();
    }
  }

  grpc::ClientContext context_;
  const std::vector<v1::StreamRequest>& messages_;
  size_t next_ = 0;
  v1::StreamResponse response_;
  std::vector<v1::StreamResponse> responses_;
  StreamDone done_;
};

}  // namespace

void StartUnary(v1::PitchService::Stub* stub, const v1::PredictRequest& request,
                std::chrono::system_clock::time_point deadline, UnaryDone done) {
  auto call = std::make_shared<UnaryCall>();
  call->context.set_deadline(deadline);
  stub->async()->Predict(&call->context, &request, &call->response,
                         [call, done = std::move(done)](grpc::Status status) {
                           done(rpc::FromGrpcStatus(status), std::move(call->response));
                         });
}

void StartStream(v1::PitchService::Stub* stub, const std::vector<v1::StreamRequest>& messages,
                 std::chrono::system_clock::time_point deadline, StreamDone done) {
  new StreamCall(stub, messages, deadline, std::move(done));  // deletes itself when done
}

}  // namespace crepe::client
