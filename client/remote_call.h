// The two calls crepe-client makes, on gRPC's callback API, so that no thread waits on a call.
// `done` runs once, on a gRPC thread: it must only hand the outcome on (post it to a worker).
#pragma once

#include <chrono>
#include <functional>
#include <vector>

#include "crepe/status.h"
#include "crepe/v1/pitch.grpc.pb.h"

namespace crepe::client {

using UnaryDone = std::function<void(Status, v1::PredictResponse)>;
using StreamDone = std::function<void(Status, std::vector<v1::StreamResponse>)>;

// Predict. `request` must stay alive until `done` has run.
void StartUnary(v1::PitchService::Stub* stub, const v1::PredictRequest& request,
                std::chrono::system_clock::time_point deadline, UnaryDone done);

// StreamPredict: writes `messages` (the config, then the audio chunks) in order, then
// half-closes, while reading what the server sends (it sends results while audio still
// arrives, and stops reading from a client that does not read). `done` gets every response, in
// order. `messages` must stay alive until `done` has run.
void StartStream(v1::PitchService::Stub* stub, const std::vector<v1::StreamRequest>& messages,
                 std::chrono::system_clock::time_point deadline, StreamDone done);

}  // namespace crepe::client
