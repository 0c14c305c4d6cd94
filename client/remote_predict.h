// One input file through a server, with the client's retry policy: the file's bytes in one
// Predict request, or (when the file is larger than a message may be) its samples decoded here
// and streamed through StreamPredict. Both give the same frames.
//
// Asynchronous: Predict starts an input and returns. An input's life, one step at a time:
//   read the file (worker) -> call a server (no thread waits) -> the outcome is posted back to a
//   worker -> done, or stream instead (decode on a worker), or retry (now, after a back-off, or
//   once a server has cooled down: the DelayQueue posts it back to a worker).
// At most one step of an input is pending at any time, so its state needs no lock.
#pragma once

#include <functional>
#include <string>

#include "crepe/prediction.h"
#include "crepe/status.h"
#include "crepe/thread_pool.h"
#include "delay_queue.h"
#include "request_codec.h"
#include "retry_policy.h"
#include "server_pool.h"

namespace crepe::client {

struct RemoteResult {
  Prediction prediction;
  std::string model_name;
  std::string weights_sha256;
  std::string device;
  std::string server;  // address that answered
  double audio_seconds = 0;
};

class RemotePredictor {
 public:
  using Done = std::function<void(Result<RemoteResult>)>;

  // `warn` receives one line per retry or fallback to streaming (may be empty); it is called on
  // a worker.
  RemotePredictor(ServerPool& pool, ThreadPool& workers, DelayQueue& delays, rpc::AnalysisRequest request,
                  RequestPolicy policy, std::function<void(const std::string&)> warn);

  // Starts `path` on a worker and returns at once; `done` runs once, on a worker.
  void Predict(const std::string& path, const std::string& request_id, Done done);

 private:
  class Job;

  ServerPool& pool_;
  ThreadPool& workers_;
  DelayQueue& delays_;
  const rpc::AnalysisRequest request_;
  const RequestPolicy policy_;
  const std::function<void(const std::string&)> warn_;
};

}  // namespace crepe::client
