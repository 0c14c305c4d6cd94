// The one place where the core's Status meets gRPC's: codes map 1:1 in both directions, and a
// Status's reason travels as a google.rpc.ErrorInfo detail (domain "crepe.v1") in the standard
// grpc-status-details-bin trailer, so any gRPC client can read it.
#pragma once

#include <grpcpp/support/status.h>

#include "crepe/status.h"

namespace crepe::rpc {

inline constexpr const char* kErrorDomain = "crepe.v1";

grpc::Status ToGrpcStatus(const Status& status);
Status FromGrpcStatus(const grpc::Status& status);

}  // namespace crepe::rpc
