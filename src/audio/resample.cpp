// Resampler selection and the public ResampleTo16k entry point.

#include <cstdint>
#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "audio/resample_internal.h"
#include "crepe/audio.h"

namespace crepe {
namespace {

constexpr int kTargetRate = 16000;

}  // namespace

Result<ResamplerKind> ParseResampler(std::string_view name) {
  if (name == "kaiser_best") return ResamplerKind::kKaiserBest;
  if (name == "soxr_vhq") return ResamplerKind::kSoxrVhq;
  return InvalidArgumentError("unknown resampler '" + std::string(name) + "' (expected kaiser_best or soxr_vhq)");
}

std::string_view ResamplerName(ResamplerKind kind) {
  switch (kind) {
    case ResamplerKind::kKaiserBest:
      return "kaiser_best";
    case ResamplerKind::kSoxrVhq:
      return "soxr_vhq";
  }
  return "unknown";
}

int64_t ResampledLength(int64_t n, int sample_rate) {
  if (n <= 0 || sample_rate <= 0) return 0;
  if (sample_rate == kTargetRate) return n;
  // Exact integer floor. resampy computes int(n * 16000.0 / sample_rate) in double, which is the
  // same number whenever n * 16000 < 2^51, i.e. for every length within kMaxAudioFrames.
  return n * kTargetRate / sample_rate;
}

Result<std::vector<float>> ResampleTo16k(std::vector<float> mono, int sample_rate, ResamplerKind kind) {
  if (sample_rate < kMinSampleRate || sample_rate > kMaxSampleRate) {
    return InvalidArgumentError("unsupported sample rate " + std::to_string(sample_rate) + " Hz (supported: " +
                                std::to_string(kMinSampleRate) + " to " + std::to_string(kMaxSampleRate) + " Hz)");
  }
  const int64_t n = static_cast<int64_t>(mono.size());
  if (n > kMaxAudioFrames) {
    return InvalidArgumentError("signal of " + std::to_string(n) + " samples is longer than the limit of " +
                                std::to_string(kMaxAudioFrames));
  }
  try {
    if (sample_rate == kTargetRate) return Result<std::vector<float>>(std::move(mono));
    const int64_t n_out = ResampledLength(n, sample_rate);
    if (n_out < 1) {
      return InvalidArgumentError("signal of " + std::to_string(n) + " samples at " + std::to_string(sample_rate) +
                                  " Hz is too short to resample to 16 kHz");
    }
    switch (kind) {
      case ResamplerKind::kKaiserBest:
        return audio_internal::ResampleKaiserBest(mono.data(), n, sample_rate, kTargetRate);
      case ResamplerKind::kSoxrVhq:
        return audio_internal::ResampleSoxrVhq(mono.data(), n, sample_rate, kTargetRate, n_out);
    }
    return InvalidArgumentError("unknown resampler kind " + std::to_string(static_cast<int>(kind)));
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory resampling " + std::to_string(n) + " samples");
  } catch (const std::exception& e) {
    return InternalError(std::string("resampling failed: ") + e.what());
  }
}

}  // namespace crepe
