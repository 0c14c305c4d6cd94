// Decoding audio files with libsndfile, validating them and mixing them down to mono.

#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <new>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "crepe/audio.h"

namespace crepe {
namespace {

namespace fs = std::filesystem;

constexpr sf_count_t kReadChunkFrames = sf_count_t{1} << 16;
// Never trust a header for more than this many samples up front; beyond it the buffer grows with
// the data actually decoded.
constexpr int64_t kMaxReserveSamples = int64_t{1} << 24;

struct SndfileCloser {
  void operator()(SNDFILE* file) const {
    if (file != nullptr) sf_close(file);
  }
};
using SndfilePtr = std::unique_ptr<SNDFILE, SndfileCloser>;

std::string Quoted(const std::string& path) { return "'" + path + "'"; }

std::string RateLimits() {
  return "supported: " + std::to_string(kMinSampleRate) + " to " + std::to_string(kMaxSampleRate) + " Hz";
}

uint32_t LoadLe(const unsigned char* p, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// When libsndfile refuses a RIFF/WAVE file, look at its 'fmt ' chunk ourselves so the error can
// say what is wrong with it (libsndfile's own message for a 0 Hz rate is "SF_INFO struct
// incomplete"). Returns "" when there is nothing to add.
std::string DescribeBadWavHeader(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char buffer[4096] = {};
  const size_t n = static_cast<size_t>(in.read(reinterpret_cast<char*>(buffer), sizeof buffer).gcount());
  if (n < 12 || std::memcmp(buffer, "RIFF", 4) != 0 || std::memcmp(buffer + 8, "WAVE", 4) != 0) return "";
  size_t pos = 12;
  while (pos + 8 <= n) {
    const uint32_t size = LoadLe(buffer + pos + 4, 4);
    if (std::memcmp(buffer + pos, "fmt ", 4) == 0) {
      if (pos + 16 > n) return "";
      const uint32_t channels = LoadLe(buffer + pos + 10, 2);
      const uint32_t rate = LoadLe(buffer + pos + 12, 4);
      if (rate < static_cast<uint32_t>(kMinSampleRate) || rate > static_cast<uint32_t>(kMaxSampleRate)) {
        return "its WAV header declares a sample rate of " + std::to_string(rate) + " Hz; " + RateLimits();
      }
      if (channels < 1 || channels > static_cast<uint32_t>(kMaxChannels)) {
        return "its WAV header declares " + std::to_string(channels) + " channels";
      }
      return "";
    }
    pos += 8 + static_cast<size_t>(size) + (size & 1);
  }
  return "";
}

// libsndfile clamps a WAV's data chunk to what the file holds and notes it in its log as
// "data : <declared> (should be <present>)". A declared size of 0xFFFFFFFF is the usual marker of
// a stream written without knowing its length, not a truncation.
std::string DescribeTruncation(SNDFILE* file) {
  char log[8192] = {};
  sf_command(file, SFC_GET_LOG_INFO, log, sizeof log);
  std::istringstream lines(log);
  std::string line;
  while (std::getline(lines, line)) {
    unsigned long long declared = 0, present = 0;
    const size_t start = line.find_first_not_of(' ');
    if (start == std::string::npos) continue;
    if (std::sscanf(line.c_str() + start, "data : %llu (should be %llu)", &declared, &present) == 2 &&
        declared > present && declared != 0xFFFFFFFFULL) {
      return "its header declares " + std::to_string(declared) + " bytes of audio data but only " +
             std::to_string(present) + " are present";
    }
  }
  return "";
}

Result<AudioBuffer> DecodeOpened(SNDFILE* file, const SF_INFO& info, const std::string& name);

Result<AudioBuffer> ReadAudioFileImpl(const std::string& path) {
  const std::string name = "audio file " + Quoted(path);
  std::error_code ec;
  const fs::file_status file_status = fs::status(path, ec);
  if (!fs::exists(file_status)) return NotFoundError(name + " not found");
  if (fs::is_directory(file_status)) return InvalidArgumentError(name + " is a directory");
  if (fs::is_regular_file(file_status)) {
    const uintmax_t size = fs::file_size(path, ec);
    if (!ec && size == 0) return InvalidArgumentError(name + " is empty (0 bytes)");
  }

  SF_INFO info;
  std::memset(&info, 0, sizeof info);
  SndfilePtr file(sf_open(path.c_str(), SFM_READ, &info));
  if (!file) {
    std::string message = "cannot decode " + name + ": " + sf_strerror(nullptr);
    const std::string detail = DescribeBadWavHeader(path);
    if (!detail.empty()) message += " (" + detail + ")";
    return InvalidArgumentError(message);
  }
  return DecodeOpened(file.get(), info, name);
}

// A byte buffer seen as a read-only file by libsndfile's virtual I/O.
struct MemoryFile {
  const unsigned char* data = nullptr;
  sf_count_t size = 0;
  sf_count_t position = 0;
};

sf_count_t MemoryLength(void* user) { return static_cast<MemoryFile*>(user)->size; }
sf_count_t MemorySeek(sf_count_t offset, int whence, void* user) {
  auto* m = static_cast<MemoryFile*>(user);
  const sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->position : m->size;
  const sf_count_t target = base + offset;
  if (target < 0 || target > m->size) return -1;
  m->position = target;
  return m->position;
}
sf_count_t MemoryRead(void* out, sf_count_t count, void* user) {
  auto* m = static_cast<MemoryFile*>(user);
  const sf_count_t n = std::max<sf_count_t>(0, std::min(count, m->size - m->position));
  if (n > 0) std::memcpy(out, m->data + m->position, static_cast<size_t>(n));
  m->position += n;
  return n;
}
sf_count_t MemoryWrite(const void*, sf_count_t, void*) { return 0; }
sf_count_t MemoryTell(void* user) { return static_cast<MemoryFile*>(user)->position; }

Result<AudioBuffer> DecodeAudioBytesImpl(const void* data, size_t size, const std::string& name) {
  if (size == 0) return InvalidArgumentError(name + " is empty (0 bytes)");
  if (data == nullptr) return InvalidArgumentError(name + " has no data");
  MemoryFile memory{static_cast<const unsigned char*>(data), static_cast<sf_count_t>(size), 0};
  SF_VIRTUAL_IO io{MemoryLength, MemorySeek, MemoryRead, MemoryWrite, MemoryTell};
  SF_INFO info;
  std::memset(&info, 0, sizeof info);
  SndfilePtr file(sf_open_virtual(&io, SFM_READ, &info, &memory));
  if (!file) return InvalidArgumentError("cannot decode " + name + ": " + sf_strerror(nullptr));
  return DecodeOpened(file.get(), info, name);
}

Result<AudioBuffer> DecodeOpened(SNDFILE* file, const SF_INFO& info, const std::string& name) {
  if (info.samplerate < kMinSampleRate || info.samplerate > kMaxSampleRate) {
    return InvalidArgumentError(name + " has a sample rate of " + std::to_string(info.samplerate) + " Hz; " +
                                RateLimits());
  }
  if (info.channels < 1 || info.channels > kMaxChannels) {
    return InvalidArgumentError(name + " has " + std::to_string(info.channels) + " channels; supported: 1 to " +
                                std::to_string(kMaxChannels));
  }
  const std::string truncation = DescribeTruncation(file);
  if (!truncation.empty()) return DataLossError(name + " is truncated: " + truncation);
  const bool length_known = info.frames != SF_COUNT_MAX;
  if (info.frames <= 0) return InvalidArgumentError(name + " contains no audio (0 frames)");
  if (length_known && info.frames > kMaxAudioFrames) {
    return InvalidArgumentError(name + " is too long: " + std::to_string(info.frames) + " frames (limit " +
                                std::to_string(kMaxAudioFrames) + ")");
  }

  const int channels = info.channels;
  AudioBuffer audio;
  audio.sample_rate = info.samplerate;
  audio.channels = channels;
  audio.samples.reserve(static_cast<size_t>(std::min<int64_t>(
      length_known ? static_cast<int64_t>(info.frames) * channels : kMaxReserveSamples, kMaxReserveSamples)));
  int64_t frames_read = 0;
  while (true) {
    const size_t old_size = audio.samples.size();
    audio.samples.resize(old_size + static_cast<size_t>(kReadChunkFrames) * channels);
    const sf_count_t got = sf_readf_float(file, audio.samples.data() + old_size, kReadChunkFrames);
    audio.samples.resize(old_size + static_cast<size_t>(std::max<sf_count_t>(got, 0)) * channels);
    if (got > 0) frames_read += got;
    if (frames_read > kMaxAudioFrames) {
      return InvalidArgumentError(name + " is too long: more than " + std::to_string(kMaxAudioFrames) + " frames");
    }
    if (got < kReadChunkFrames) break;
  }
  if (sf_error(file) != SF_ERR_NO_ERROR) {
    return DataLossError("error decoding " + name + " after " + std::to_string(frames_read) +
                         " frames: " + sf_strerror(file));
  }
  if (length_known && frames_read < info.frames) {
    return DataLossError(name + " is truncated or corrupt: its header declares " + std::to_string(info.frames) +
                         " frames but only " + std::to_string(frames_read) + " could be decoded");
  }
  if (frames_read == 0) return InvalidArgumentError(name + " contains no audio (0 frames)");
  audio.samples.shrink_to_fit();
  const Status valid = ValidateAudio(audio.samples.data(), frames_read, audio.sample_rate, channels);
  if (!valid.ok()) return valid.WithContext(name);
  return audio;
}

}  // namespace

Result<AudioBuffer> ReadAudioFile(const std::string& path) {
  try {
    return ReadAudioFileImpl(path);
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory decoding audio file " + Quoted(path));
  } catch (const std::exception& e) {
    return InternalError("decoding audio file " + Quoted(path) + ": " + e.what());
  }
}

Result<AudioBuffer> DecodeAudioBytes(const void* data, size_t size, const std::string& name) {
  try {
    return DecodeAudioBytesImpl(data, size, name);
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory decoding " + name);
  } catch (const std::exception& e) {
    return InternalError("decoding " + name + ": " + e.what());
  }
}

Status ValidateAudio(const float* interleaved, int64_t frames, int sample_rate, int channels, int64_t first_frame) {
  if (sample_rate < kMinSampleRate || sample_rate > kMaxSampleRate) {
    return InvalidArgumentError("unsupported sample rate " + std::to_string(sample_rate) + " Hz; " + RateLimits());
  }
  if (channels < 1 || channels > kMaxChannels) {
    return InvalidArgumentError("unsupported channel count " + std::to_string(channels) + "; supported: 1 to " +
                                std::to_string(kMaxChannels));
  }
  if (frames <= 0) return InvalidArgumentError("no audio (0 frames)");
  if (frames > kMaxAudioFrames) {
    return InvalidArgumentError("too long: " + std::to_string(frames) + " frames (limit " +
                                std::to_string(kMaxAudioFrames) + ")");
  }
  if (interleaved == nullptr) return InvalidArgumentError("no sample data");
  const int64_t total = frames * channels;
  for (int64_t i = 0; i < total; ++i) {
    const float v = interleaved[i];
    if (!std::isfinite(v)) {
      const int64_t frame = first_frame + i / channels;
      char seconds[32];
      std::snprintf(seconds, sizeof seconds, "%.6f", static_cast<double>(frame) / sample_rate);
      return InvalidArgumentError(std::string("non-finite sample (") +
                                  (std::isnan(v) ? "NaN"
                                   : v > 0       ? "+Inf"
                                                 : "-Inf") +
                                  ") at frame " + std::to_string(frame) + ", channel " + std::to_string(i % channels) +
                                  " (t = " + seconds + " s)");
    }
  }
  return Status::Ok();
}

std::vector<float> MixToMono(const float* interleaved, int64_t frames, int channels) {
  if (interleaved == nullptr || frames <= 0 || channels <= 0) return {};
  if (channels == 1) return std::vector<float>(interleaved, interleaved + frames);
  std::vector<float> mono(static_cast<size_t>(frames));
  for (int64_t f = 0; f < frames; ++f) {
    const float* frame = interleaved + f * channels;
    double sum = 0.0;
    for (int c = 0; c < channels; ++c) sum += frame[c];
    mono[static_cast<size_t>(f)] = static_cast<float>(sum / channels);
  }
  return mono;
}

}  // namespace crepe
