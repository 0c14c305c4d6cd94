#include "retry_policy.h"

#include <algorithm>
#include <cmath>

#include "crepe/v1/pitch.pb.h"

namespace crepe::client {
namespace {

bool Is(const Status& s, v1::ErrorReason reason) { return s.reason() == v1::ErrorReason_Name(reason); }

}  // namespace

NextStep NextStepAfter(const Status& failure, bool streaming) {
  switch (failure.code()) {
    case StatusCode::kUnavailable:
      return NextStep::kRetry;
    case StatusCode::kCancelled:
      // crepe-client never cancels a call, and crepe-server ends a call CANCELLED only for a client
      // that cancelled it: this one was reset on the way (HAProxy cancels the calls it had sent to a
      // replica that shut down), so it is no verdict on the request.
      return NextStep::kRetry;
    case StatusCode::kResourceExhausted:
      if (Is(failure, v1::QUEUE_FULL) || Is(failure, v1::TOO_MANY_CALLS) || Is(failure, v1::PEER_CALL_LIMIT)) {
        return NextStep::kBackOff;
      }
      // gRPC refuses a request over the server's receive limit itself, without a detail; the
      // server says RESPONSE_TOO_LARGE before it would send a response over its limit.
      if (!streaming && (failure.reason().empty() || Is(failure, v1::RESPONSE_TOO_LARGE))) return NextStep::kStream;
      return NextStep::kFail;
    case StatusCode::kInternal:
      return Is(failure, v1::BATCH_FAILED) ? NextStep::kBackOff : NextStep::kFail;
    default:
      return NextStep::kFail;
  }
}

double BackOffSeconds(const RequestPolicy& policy, int n, double jitter) {
  return std::min(policy.backoff_initial_s * std::pow(2.0, n), policy.backoff_max_s) * jitter;
}

}  // namespace crepe::client
