// libFuzzer target: a unary request as the server receives it. Bytes -> PredictRequest -> validated
// options and audio (PCM or an encoded file) -> the frame grid -> a pitch session run end to end,
// with made-up network outputs standing in for the model (the network itself reads no caller
// bytes). Everything a caller controls on the way to the batcher is exercised.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "crepe/audio.h"
#include "crepe/capacity.h"
#include "crepe/frames.h"
#include "crepe/pitch_session.h"
#include "google/protobuf/stubs/logging.h"
#include "request_codec.h"

namespace {

constexpr int kEmbeddingWidth = 8;     // tiny's
constexpr int64_t kMaxFrames = 20000;  // beyond this a valid request only costs time, not coverage
constexpr int64_t kTakeAtOnce = 64;

// Deterministic stand-in activations in [0, 1] that depend on the frame, so decoders see variety.
void FakeOutputs(const float* frames, int64_t n, std::vector<float>& activations, std::vector<float>& embeddings) {
  activations.assign(static_cast<size_t>(n) * crepe::kPitchBins, 0.f);
  for (int64_t f = 0; f < n; ++f) {
    for (int b = 0; b < crepe::kPitchBins; ++b) {
      const float x = frames[f * crepe::kFrameLength + (b * 3) % crepe::kFrameLength];
      activations[f * crepe::kPitchBins + b] = 0.5f + 0.5f * std::tanh(x);
    }
  }
  embeddings.assign(static_cast<size_t>(n) * 32 * kEmbeddingWidth, 0.25f);
}

void RunSession(const crepe::AudioBuffer& audio, const crepe::PredictOptions& options) {
  crepe::SessionConfig config;
  config.sample_rate = audio.sample_rate;
  config.channels = audio.channels;
  config.options = options;
  config.embedding_width = kEmbeddingWidth;
  auto session = crepe::PitchSession::Make(config);
  if (!session.ok()) return;
  crepe::PitchSession& s = **session;
  if (!s.PushAudio(audio.samples.data(), audio.frames()).ok() || !s.Finish().ok()) return;
  std::vector<float> frames(kTakeAtOnce * crepe::kFrameLength), activations, embeddings;
  while (s.frames_ready() > 0) {
    int64_t first = 0;
    const int64_t n = s.TakeFrames(frames.data(), kTakeAtOnce, &first);
    FakeOutputs(frames.data(), n, activations, embeddings);
    if (!s.PushNetworkOutput(first, n, activations.data(), embeddings.data()).ok()) return;
    int64_t released = 0;
    if (!s.TakeResults(&released).ok()) return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Protobuf logs every string field that is not UTF-8 (the parse then fails, as it should): quiet.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  crepe::v1::PredictRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  auto decoded = crepe::rpc::DecodeOptions(request.options());
  if (!decoded.ok()) return 0;
  auto audio = crepe::rpc::DecodeAudio(request.audio());
  if (!audio.ok()) return 0;
  const crepe::PredictOptions& o = decoded->options;
  auto grid = crepe::FrameGrid::Make(crepe::ResampledLength(audio->frames(), audio->sample_rate), audio->sample_rate,
                                     o.hop, o.center);
  if (!grid.ok() || grid->size() > kMaxFrames) return 0;
  RunSession(*audio, o);
  return 0;
}
