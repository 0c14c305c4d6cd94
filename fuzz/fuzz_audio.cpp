// libFuzzer target: arbitrary bytes as an encoded audio file (WAV, FLAC, OGG/Vorbis, or anything
// else libsndfile recognises), decoded in memory as the server decodes a request's file, then
// mixed down and resampled to 16 kHz as the frame side does.
#include <cstddef>
#include <cstdint>
#include <utility>

#include "crepe/audio.h"

namespace {
constexpr int64_t kMaxFramesToResample = 1 << 18;  // longer audio only costs time
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto audio = crepe::DecodeAudioBytes(data, size, "fuzz input");
  if (!audio.ok() || audio->frames() > kMaxFramesToResample) return 0;
  std::vector<float> mono = crepe::MixToMono(audio->samples.data(), audio->frames(), audio->channels);
  (void)crepe::ResampleTo16k(std::move(mono), audio->sample_rate, crepe::ResamplerKind::kKaiserBest);
  return 0;
}
