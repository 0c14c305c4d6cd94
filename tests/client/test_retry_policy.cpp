// What crepe-client does after each error the server may send, decided by the status code and
// the google.rpc.ErrorInfo reason as it arrives through gRPC, never by the message text.
#include <gtest/gtest.h>

#include "crepe/v1/pitch.pb.h"
#include "google/rpc/status.pb.h"
#include "retry_policy.h"
#include "status_mapping.h"

namespace crepe::client {
namespace {

// `s` as the client receives it: through gRPC's status and its details trailer.
Status OverTheWire(const Status& s) { return rpc::FromGrpcStatus(rpc::ToGrpcStatus(s)); }

Status WithReason(Status s, v1::ErrorReason reason) { return s.WithReason(v1::ErrorReason_Name(reason)); }

TEST(ClientRetryPolicy, BusyServersAreRetriedAfterABackOff) {
  for (v1::ErrorReason reason : {v1::QUEUE_FULL, v1::TOO_MANY_CALLS, v1::PEER_CALL_LIMIT}) {
    const Status s = OverTheWire(WithReason(ResourceExhaustedError("busy"), reason));
    EXPECT_EQ(NextStepAfter(s, false), NextStep::kBackOff) << v1::ErrorReason_Name(reason);
    EXPECT_EQ(NextStepAfter(s, true), NextStep::kBackOff) << v1::ErrorReason_Name(reason);
  }
  const Status batch = OverTheWire(WithReason(InternalError("the network failed"), v1::BATCH_FAILED));
  EXPECT_EQ(NextStepAfter(batch, false), NextStep::kBackOff);
  EXPECT_EQ(NextStepAfter(batch, true), NextStep::kBackOff);
}

TEST(ClientRetryPolicy, AStreamBrokenInTransitIsRetried) {
  // What gRPC reports when a proxy resets the call's stream (seen through HAProxy while a replica
  // shut down): no status from the server, so not a verdict on the request.
  const Status broken = rpc::FromGrpcStatus(grpc::Status(grpc::StatusCode::UNKNOWN, "Stream removed"));
  EXPECT_EQ(broken.code(), StatusCode::kUnavailable);
  EXPECT_EQ(NextStepAfter(broken, false), NextStep::kRetry);
  EXPECT_EQ(NextStepAfter(broken, true), NextStep::kRetry);
  // What HAProxy does to the calls it had sent to a replica that shut down (seen once in
  // DeployStack): the client never cancels, so this is the path too.
  const Status reset = rpc::FromGrpcStatus(grpc::Status(grpc::StatusCode::CANCELLED, "CANCELLED"));
  EXPECT_EQ(NextStepAfter(reset, false), NextStep::kRetry);
  EXPECT_EQ(NextStepAfter(reset, true), NextStep::kRetry);
  // An UNKNOWN that carries details came from a server that meant it: not retried.
  google::rpc::Status details;
  details.set_code(2);
  const Status meant = rpc::FromGrpcStatus(grpc::Status(grpc::StatusCode::UNKNOWN, "odd", details.SerializeAsString()));
  EXPECT_EQ(NextStepAfter(meant, false), NextStep::kFail);
}

TEST(ClientRetryPolicy, WhatOneMessageCannotHoldIsStreamedOnce) {
  const Status response = OverTheWire(WithReason(ResourceExhaustedError("too big"), v1::RESPONSE_TOO_LARGE));
  EXPECT_EQ(NextStepAfter(response, false), NextStep::kStream);
  EXPECT_EQ(NextStepAfter(response, true), NextStep::kFail);
  // gRPC's own refusal of a request over the server's limit carries no detail.
  const Status request = OverTheWire(ResourceExhaustedError("Received message larger than max"));
  EXPECT_EQ(NextStepAfter(request, false), NextStep::kStream);
  EXPECT_EQ(NextStepAfter(request, true), NextStep::kFail);
  const Status held = OverTheWire(WithReason(ResourceExhaustedError("held"), v1::HELD_RESULTS_TOO_LARGE));
  EXPECT_EQ(NextStepAfter(held, true), NextStep::kFail);
}

TEST(ClientRetryPolicy, TheMessageTextDecidesNothing) {
  // Words the old client searched for, on errors whose reason says otherwise.
  EXPECT_EQ(NextStepAfter(OverTheWire(WithReason(ResourceExhaustedError("larger than max; over the message limit"),
                                                 v1::QUEUE_FULL)),
                          false),
            NextStep::kBackOff);
  EXPECT_EQ(NextStepAfter(OverTheWire(ResourceExhaustedError("queue is full, retry later")), false), NextStep::kStream);
}

TEST(ClientRetryPolicy, UnavailableIsRetriedAndTheRestFail) {
  EXPECT_EQ(NextStepAfter(OverTheWire(UnavailableError("down")), false), NextStep::kRetry);
  EXPECT_EQ(NextStepAfter(OverTheWire(WithReason(UnavailableError("bye"), v1::SHUTTING_DOWN)), true), NextStep::kRetry);
  EXPECT_EQ(NextStepAfter(OverTheWire(InternalError("a fault")), false), NextStep::kFail);
  EXPECT_EQ(NextStepAfter(OverTheWire(InvalidArgumentError("bad")), false), NextStep::kFail);
  EXPECT_EQ(NextStepAfter(OverTheWire(NotFoundError("no such model")), false), NextStep::kFail);
  EXPECT_EQ(NextStepAfter(OverTheWire(Status(StatusCode::kDeadlineExceeded, "late")), false), NextStep::kFail);
}

TEST(ClientRetryPolicy, BackOffDoublesUpToItsCap) {
  RequestPolicy p;
  p.backoff_initial_s = 0.5;
  p.backoff_max_s = 3;
  EXPECT_DOUBLE_EQ(BackOffSeconds(p, 0, 1.0), 0.5);
  EXPECT_DOUBLE_EQ(BackOffSeconds(p, 2, 1.0), 2.0);
  EXPECT_DOUBLE_EQ(BackOffSeconds(p, 10, 1.2), 3.6);
}

}  // namespace
}  // namespace crepe::client
