// Test-side helpers for calling a crepe-server: channels, requests from audio, and results
// reassembled into a core Prediction.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "crepe/audio.h"
#include "crepe/prediction.h"
#include "crepe/v1/pitch.grpc.pb.h"
#include "request_codec.h"
#include "support/server_process.h"

namespace crepe::test {

// A channel to `address`. With `receive_window_bytes`, HTTP/2 flow control lets the server send
// this client at most that much that it has not read yet (gRPC's default grows the window with
// the measured bandwidth, so unread results could pile up in this process's transport instead).
std::unique_ptr<v1::PitchService::Stub> Connect(const std::string& address, int receive_window_bytes = 0);

// crepe-server with `args`, SERVING; null after failing the test (with the server's log).
std::unique_ptr<ServerProcess> StartServer(const std::vector<std::string>& args);

// A request for `capacity` with `options`, asking for the outputs the options ask for.
rpc::AnalysisRequest Request(Capacity capacity, const PredictOptions& options = {});

// What the core's Predictor (crepe-predict's pipeline) gives in this process, on the CPU.
Prediction Expected(Capacity capacity, const AudioBuffer& audio, const PredictOptions& options);

// The shared 10 s test clip (44.1 kHz mono).
const AudioBuffer& TestClip();

// Audio as little-endian float32 PCM.
v1::Audio PcmAudio(const AudioBuffer& audio);

v1::PredictRequest MakeRequest(const rpc::AnalysisRequest& request, const AudioBuffer& audio);

struct CallResult {
  grpc::Status status;
  Prediction prediction;
  v1::ModelRef model;
  int64_t messages_before_end = 0;  // stream: frame messages received before the half-close
};

CallResult CallPredict(v1::PitchService::Stub& stub, const v1::PredictRequest& request,
                       std::chrono::milliseconds deadline = std::chrono::milliseconds(120000));

// StreamPredict with the audio cut into chunks of the given sizes (in frames, cycled). With
// `wait_for_early_frames`, after sending the first half it waits for a frames message before
// sending the rest.
CallResult CallStream(v1::PitchService::Stub& stub, const rpc::AnalysisRequest& request, const AudioBuffer& audio,
                      const std::vector<int64_t>& chunks, bool wait_for_early_frames = false);

// Bitwise equality of every series (NaN equal to NaN); empty string when equal, else what differs.
std::string Difference(const Prediction& got, const Prediction& want);

}  // namespace crepe::test
