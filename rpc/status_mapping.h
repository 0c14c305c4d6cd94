// The one place where the core's Status meets gRPC's: codes map 1:1 in both directions.
#pragma once

#include <grpcpp/support/status.h>

#include "crepe/status.h"

namespace crepe::rpc {

grpc::Status ToGrpcStatus(const Status& status);
Status FromGrpcStatus(const grpc::Status& status);

}  // namespace crepe::rpc
