// crepe.v1 requests <-> the core's options and audio. Shared by the server (decoding what it
// receives) and the client (encoding what it sends), so both read the wire the same way.
#pragma once

#include <string>

#include "crepe/audio.h"
#include "crepe/capacity.h"
#include "crepe/predict_options.h"
#include "crepe/status.h"
#include "crepe/v1/pitch.pb.h"

namespace crepe::rpc {

// Which outputs travel back, and how the large ones are encoded.
struct WireOutputs {
  bool pitch = true;
  bool periodicity = true;
  bool confidence = true;
  bool activations = false;
  bool embeddings = false;
  bool float16 = false;  // activations and embeddings as IEEE half precision
};

struct AnalysisRequest {
  Capacity capacity = Capacity::kFull;
  PredictOptions options;  // validated (ValidatePredictOptions)
  WireOutputs outputs;
};

// The service's defaults, chosen from the accuracy evaluation (bench/results/accuracy.md, README
// "Service defaults"): the decoder when a request leaves it unspecified, and the post-processing
// when a request has no PostProcessing message at all.
inline constexpr Decoder kServiceDefaultDecoder = Decoder::kViterbiConfidence;
inline constexpr float kServiceDefaultVoicingThreshold = 0.5f;
PostProcessOptions ServiceDefaultPostProcessing();

// INVALID_ARGUMENT with a message a person can act on for anything out of range.
Result<AnalysisRequest> DecodeOptions(const v1::PredictOptions& options);
void EncodeOptions(const AnalysisRequest& request, v1::PredictOptions* out);

Capacity CapacityFromWire(v1::Capacity capacity);  // CAPACITY_UNSPECIFIED must be checked first
v1::Capacity CapacityToWire(Capacity capacity);

// Interleaved PCM in `format` -> float samples (int16 scaled by 1/32768). Validates rate,
// channels, format and whole frames (finite samples are checked where the audio is used).
Result<AudioBuffer> DecodePcm(v1::SampleFormat format, int sample_rate, int channels, const std::string& data);
// Samples as PCM bytes in `format` (FLOAT32, or INT16 rounded to nearest and clipped): what
// DecodePcm reads back. Shared by crepe-client, the load generator and the tests.
std::string EncodePcm(const float* samples, size_t n, v1::SampleFormat format);
// A unary request's audio: PCM, or an encoded file decoded in memory. Bytes that cannot be
// decoded are INVALID_ARGUMENT.
Result<AudioBuffer> DecodeAudio(const v1::Audio& audio);

}  // namespace crepe::rpc
