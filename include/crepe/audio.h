// Reading audio and preparing it for the network: decode, validate, mix down, resample to 16 kHz.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "crepe/status.h"

namespace crepe {

// Limits every entry point enforces (a request beyond them is an error, not a crash).
inline constexpr int kMinSampleRate = 1000;
inline constexpr int kMaxSampleRate = 768000;
inline constexpr int kMaxChannels = 64;
inline constexpr int64_t kMaxAudioFrames = int64_t{1} << 32;  // per channel

// Interleaved float samples; PCM files are scaled to [-1, 1).
struct AudioBuffer {
  std::vector<float> samples;
  int sample_rate = 0;
  int channels = 0;
  int64_t frames() const { return channels > 0 ? static_cast<int64_t>(samples.size()) / channels : 0; }
};

// Decodes any file libsndfile reads (WAV, FLAC, OGG/Vorbis, ...). Empty, truncated or corrupt
// files, absurd rates and non-finite samples are errors naming the file.
Result<AudioBuffer> ReadAudioFile(const std::string& path);

// The same for an encoded file held in memory (e.g. received over the network); `name` says what
// it is in error messages, e.g. "request audio".
Result<AudioBuffer> DecodeAudioBytes(const void* data, size_t size, const std::string& name);

// Checks rate, channel count, length and that every sample is finite. Positions in errors count
// from `first_frame` (where this piece starts in a longer stream).
Status ValidateAudio(const float* interleaved, int64_t frames, int sample_rate, int channels, int64_t first_frame = 0);

// Average of the channels (computed in double, like numpy's mean), as float.
std::vector<float> MixToMono(const float* interleaved, int64_t frames, int channels);

enum class ResamplerKind {
  kKaiserBest,  // resampy's kaiser_best, bit-exact with resampy 0.4 (what the original CREPE uses)
  kSoxrVhq,     // libsoxr, very high quality
};
Result<ResamplerKind> ParseResampler(std::string_view name);  // "kaiser_best" | "soxr_vhq"
std::string_view ResamplerName(ResamplerKind kind);

// Length of the 16 kHz signal for n input samples: floor(n * 16000 / sample_rate).
int64_t ResampledLength(int64_t n, int sample_rate);

// Mono signal at sample_rate -> mono signal at 16 kHz of ResampledLength(n) samples. A 16 kHz
// input is returned unchanged (moved, not copied, when the caller moves it in).
Result<std::vector<float>> ResampleTo16k(std::vector<float> mono, int sample_rate, ResamplerKind kind);

}  // namespace crepe
