// What crepe-client does after a failed call: stream instead, retry, back off and retry, or give
// up. Decided by the status code and the google.rpc.ErrorInfo reason the server attaches
// (crepe::Status::reason(), the names of crepe.v1.ErrorReason), never by message text.
#pragma once

#include <cstdint>

#include "crepe/status.h"

namespace crepe::client {

struct RequestPolicy {
  int retries = 8;                       // further attempts after a retryable failure
  double timeout_s = 3600;               // deadline of each attempt
  int64_t max_message_bytes = 64 << 20;  // the servers' --max-message-mb
  double backoff_initial_s = 0.5;        // before the first back-off retry; doubles each time
  double backoff_max_s = 30;
};

enum class NextStep {
  kStream,   // too large for one message: send the samples through StreamPredict instead
  kRetry,    // at once; the server cools down in ServerPool (UNAVAILABLE)
  kBackOff,  // after a delay (the server is busy, or failed on one batch)
  kFail,     // the input fails
};

// `streaming`: whether the failed call was StreamPredict (a stream has nothing further to fall
// back to, so a stream refused as too large fails).
NextStep NextStepAfter(const Status& failure, bool streaming);

// The delay before back-off retry `n` (0 for the first): exponential, capped, times `jitter`
// (drawn from [0.8, 1.2] so that clients refused together do not return together).
double BackOffSeconds(const RequestPolicy& policy, int n, double jitter);

}  // namespace crepe::client
