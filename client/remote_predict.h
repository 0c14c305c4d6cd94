// One input file through a server, with the client's retry policy: the file's bytes in one
// Predict request, or (when the file is larger than a message may be) its samples decoded here
// and streamed through StreamPredict. Both give the same frames.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "crepe/prediction.h"
#include "crepe/status.h"
#include "request_codec.h"
#include "server_pool.h"

namespace crepe::client {

struct RequestPolicy {
  int retries = 8;                       // further attempts after UNAVAILABLE / RESOURCE_EXHAUSTED
  double timeout_s = 3600;               // deadline of each attempt
  int64_t max_message_bytes = 64 << 20;  // the servers' --max-message-mb
  double backoff_initial_s = 0.5;        // before the first retry; doubles each time
  double backoff_max_s = 30;
};

struct RemoteResult {
  Prediction prediction;
  std::string model_name;
  std::string weights_sha256;
  std::string device;
  std::string server;  // address that answered
  double audio_seconds = 0;
  int attempts = 0;
};

class RemotePredictor {
 public:
  // `warn` receives one line per retry (may be empty).
  RemotePredictor(ServerPool& pool, rpc::AnalysisRequest request, RequestPolicy policy,
                  std::function<void(const std::string&)> warn);

  Result<RemoteResult> Predict(const std::string& path, const std::string& request_id) const;

 private:
  Status CallUnary(const ServerPool::Lease& server, const v1::PredictRequest& request, RemoteResult& out) const;
  Status CallStream(const ServerPool::Lease& server, const AudioBuffer& audio, const std::string& request_id,
                    RemoteResult& out) const;

  ServerPool& pool_;
  rpc::AnalysisRequest request_;
  RequestPolicy policy_;
  std::function<void(const std::string&)> warn_;
};

}  // namespace crepe::client
