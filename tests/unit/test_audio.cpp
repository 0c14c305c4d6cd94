// Reading audio files (good and bad), validation and mixing down.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "crepe/audio.h"
#include "support/test_paths.h"

namespace crepe {
namespace {

void Put16(std::string* s, uint32_t v) {
  s->push_back(static_cast<char>(v & 0xFF));
  s->push_back(static_cast<char>((v >> 8) & 0xFF));
}
void Put32(std::string* s, uint32_t v) {
  Put16(s, v & 0xFFFF);
  Put16(s, v >> 16);
}

// A RIFF/WAVE file: format tag 1 (PCM) or 3 (IEEE float). `declared_data_bytes` < 0 means the
// true size of `data`.
std::string MakeWav(int format_tag, int channels, uint32_t rate, int bits, const std::string& data,
                    int64_t declared_data_bytes = -1) {
  std::string fmt;
  Put16(&fmt, format_tag);
  Put16(&fmt, channels);
  Put32(&fmt, rate);
  Put32(&fmt, rate * channels * bits / 8);
  Put16(&fmt, channels * bits / 8);
  Put16(&fmt, bits);
  std::string body = "WAVEfmt ";
  Put32(&body, static_cast<uint32_t>(fmt.size()));
  body += fmt;
  body += "data";
  Put32(&body, static_cast<uint32_t>(declared_data_bytes >= 0 ? declared_data_bytes : data.size()));
  body += data;
  std::string wav = "RIFF";
  Put32(&wav, static_cast<uint32_t>(body.size()));
  return wav + body;
}

std::string Pcm16(const std::vector<int16_t>& values) {
  std::string s;
  for (int16_t v : values) Put16(&s, static_cast<uint16_t>(v));
  return s;
}

std::string Float32(const std::vector<float>& values) {
  std::string s;
  for (float v : values) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    Put32(&s, bits);
  }
  return s;
}

class AudioFileTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::MakeTempDir("audio"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& bytes) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  std::string dir_;
};

void ExpectError(const Result<AudioBuffer>& result, StatusCode code, const std::vector<std::string>& fragments) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), code) << result.status().ToString();
  for (const std::string& fragment : fragments) {
    EXPECT_NE(result.status().message().find(fragment), std::string::npos)
        << "'" << fragment << "' not in: " << result.status().message();
  }
}

TEST(AudioFile, ReadsTheExampleClip) {
  Result<AudioBuffer> audio = ReadAudioFile(test::SourcePath("assets/examples/sung-vowel.wav"));
  ASSERT_TRUE(audio.ok()) << audio.status().ToString();
  EXPECT_EQ(audio->sample_rate, 44100);
  EXPECT_EQ(audio->channels, 1);
  EXPECT_EQ(audio->frames(), 132300);
  float peak = 0;
  for (float v : audio->samples) {
    ASSERT_GE(v, -1.0f);
    ASSERT_LT(v, 1.0f);
    ASSERT_EQ(v * 32768.0f, std::round(v * 32768.0f));  // int16 / 32768 exactly
    peak = std::max(peak, std::fabs(v));
  }
  EXPECT_NEAR(peak, 0.7f, 0.001f);
}

TEST(AudioFile, ReadsTheReferenceClips) {
  const std::string test_wav = test::SharedPath("testdata/crepe-reference/test.wav");
  const std::string sweep_wav = test::SharedPath("testdata/crepe-reference/sweep.wav");
  if (!test::FileExists(test_wav) || !test::FileExists(sweep_wav)) GTEST_SKIP() << "shared test data not available";

  Result<AudioBuffer> speech = ReadAudioFile(test_wav);
  ASSERT_TRUE(speech.ok()) << speech.status().ToString();
  EXPECT_EQ(speech->sample_rate, 44100);
  EXPECT_EQ(speech->channels, 1);
  EXPECT_EQ(speech->frames(), 441000);

  Result<AudioBuffer> sweep = ReadAudioFile(sweep_wav);  // 64-bit float WAV at 16 kHz
  ASSERT_TRUE(sweep.ok()) << sweep.status().ToString();
  EXPECT_EQ(sweep->sample_rate, 16000);
  EXPECT_EQ(sweep->channels, 1);
  EXPECT_EQ(sweep->frames(), 44100);
  float peak = 0;
  for (float v : sweep->samples) peak = std::max(peak, std::fabs(v));
  EXPECT_GT(peak, 0.1f);
  EXPECT_LE(peak, 1.0f);
}

TEST_F(AudioFileTest, ScalesPcmAndKeepsChannelsInterleaved) {
  const std::string path = Write("stereo.wav", MakeWav(1, 2, 22050, 16, Pcm16({-32768, 16384, 32767, -1, 0, 1})));
  Result<AudioBuffer> audio = ReadAudioFile(path);
  ASSERT_TRUE(audio.ok()) << audio.status().ToString();
  EXPECT_EQ(audio->sample_rate, 22050);
  EXPECT_EQ(audio->channels, 2);
  EXPECT_EQ(audio->frames(), 3);
  const std::vector<float> expected = {-1.0f, 0.5f, 32767.0f / 32768, -1.0f / 32768, 0.0f, 1.0f / 32768};
  EXPECT_EQ(audio->samples, expected);
}

TEST_F(AudioFileTest, ReadsAStreamedWavWithUnknownDataSize) {
  std::vector<int16_t> pcm(1000, 1234);
  const std::string path = Write("stream.wav", MakeWav(1, 1, 16000, 16, Pcm16(pcm), 0xFFFFFFFF));
  Result<AudioBuffer> audio = ReadAudioFile(path);
  ASSERT_TRUE(audio.ok()) << audio.status().ToString();
  EXPECT_EQ(audio->frames(), 1000);
}

TEST_F(AudioFileTest, MissingFileIsNotFound) {
  const std::string path = dir_ + "/no-such.wav";
  ExpectError(ReadAudioFile(path), StatusCode::kNotFound, {path, "not found"});
}

TEST_F(AudioFileTest, DirectoryIsInvalid) {
  ExpectError(ReadAudioFile(dir_), StatusCode::kInvalidArgument, {dir_, "directory"});
}

TEST_F(AudioFileTest, EmptyFileIsInvalid) {
  const std::string path = Write("empty.wav", "");
  ExpectError(ReadAudioFile(path), StatusCode::kInvalidArgument, {path, "empty"});
}

TEST_F(AudioFileTest, RandomBytesAreNotAudio) {
  std::mt19937 rng(42);
  std::string bytes;
  for (int i = 0; i < 5000; ++i) bytes.push_back(static_cast<char>(rng() & 0xFF));
  const std::string path = Write("noise.wav", bytes);
  ExpectError(ReadAudioFile(path), StatusCode::kInvalidArgument, {path, "cannot decode", "Format not recognised"});
}

TEST_F(AudioFileTest, TruncatedWavIsDataLoss) {
  const std::string wav = MakeWav(1, 1, 44100, 16, Pcm16(std::vector<int16_t>(44100, 100)));
  const std::string path = Write("truncated.wav", wav.substr(0, wav.size() / 2));
  ExpectError(ReadAudioFile(path), StatusCode::kDataLoss, {path, "truncated", "88200"});
  // Cut right after the header: no audio at all, still a truncation.
  const std::string header_only = Write("header-only.wav", wav.substr(0, 44));
  ExpectError(ReadAudioFile(header_only), StatusCode::kDataLoss, {header_only, "truncated"});
  // Cut inside the header: libsndfile cannot open it.
  const std::string cut_header = Write("cut-header.wav", wav.substr(0, 30));
  ExpectError(ReadAudioFile(cut_header), StatusCode::kInvalidArgument, {cut_header, "cannot decode"});
}

TEST_F(AudioFileTest, WavWithNoFramesIsInvalid) {
  const std::string path = Write("no-frames.wav", MakeWav(1, 1, 16000, 16, ""));
  ExpectError(ReadAudioFile(path), StatusCode::kInvalidArgument, {path, "no audio"});
}

TEST_F(AudioFileTest, AbsurdSampleRatesAreInvalid) {
  const std::string pcm = Pcm16(std::vector<int16_t>(100, 7));
  const std::string zero = Write("zero-hz.wav", MakeWav(1, 1, 0, 16, pcm));
  ExpectError(ReadAudioFile(zero), StatusCode::kInvalidArgument, {zero, "0 Hz"});
  const std::string huge = Write("huge-hz.wav", MakeWav(1, 1, 2000000, 16, pcm));
  ExpectError(ReadAudioFile(huge), StatusCode::kInvalidArgument, {huge, "2000000 Hz", "768000"});
  const std::string low = Write("low-hz.wav", MakeWav(1, 1, 999, 16, pcm));
  ExpectError(ReadAudioFile(low), StatusCode::kInvalidArgument, {low, "999 Hz"});
}

TEST_F(AudioFileTest, AbsurdChannelCountsAreInvalid) {
  const std::string none = Write("zero-channels.wav", MakeWav(1, 0, 16000, 16, Pcm16(std::vector<int16_t>(100, 0))));
  ExpectError(ReadAudioFile(none), StatusCode::kInvalidArgument, {none});
  const std::string many = Write("100-channels.wav", MakeWav(1, 100, 16000, 16, Pcm16(std::vector<int16_t>(1000, 0))));
  ExpectError(ReadAudioFile(many), StatusCode::kInvalidArgument, {many, "100 channels"});
}

TEST_F(AudioFileTest, NonFiniteFloatSamplesAreInvalid) {
  std::vector<float> samples(200, 0.25f);
  samples[123] = std::numeric_limits<float>::quiet_NaN();
  const std::string nan_path = Write("nan.wav", MakeWav(3, 1, 16000, 32, Float32(samples)));
  ExpectError(ReadAudioFile(nan_path), StatusCode::kInvalidArgument, {nan_path, "NaN", "frame 123", "channel 0"});

  samples[123] = 0.0f;
  samples[151] = -std::numeric_limits<float>::infinity();  // stereo: frame 75, channel 1
  const std::string inf_path = Write("inf.wav", MakeWav(3, 2, 16000, 32, Float32(samples)));
  ExpectError(ReadAudioFile(inf_path), StatusCode::kInvalidArgument, {inf_path, "-Inf", "frame 75", "channel 1"});

  samples[151] = 0.5f;
  Result<AudioBuffer> ok = ReadAudioFile(Write("finite.wav", MakeWav(3, 1, 16000, 32, Float32(samples))));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->samples, samples);  // float WAVs are passed through unscaled
}

TEST(ValidateAudio, ChecksEveryLimit) {
  const std::vector<float> x(100, 0.1f);
  EXPECT_TRUE(ValidateAudio(x.data(), 100, 16000, 1).ok());
  EXPECT_TRUE(ValidateAudio(x.data(), 50, kMinSampleRate, 2).ok());
  EXPECT_TRUE(ValidateAudio(x.data(), 1, kMaxSampleRate, 64).ok());
  EXPECT_EQ(ValidateAudio(x.data(), 100, kMinSampleRate - 1, 1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateAudio(x.data(), 100, kMaxSampleRate + 1, 1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateAudio(x.data(), 1, 16000, 0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateAudio(x.data(), 1, 16000, kMaxChannels + 1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateAudio(x.data(), 0, 16000, 1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateAudio(x.data(), kMaxAudioFrames + 1, 16000, 1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateAudio(nullptr, 10, 16000, 1).code(), StatusCode::kInvalidArgument);

  std::vector<float> bad = x;
  bad[37] = std::numeric_limits<float>::infinity();
  const Status status = ValidateAudio(bad.data(), 50, 16000, 2);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("+Inf) at frame 18, channel 1"), std::string::npos) << status.message();
}

TEST(MixToMono, AveragesChannelsInDouble) {
  const std::vector<float> mono = {0.1f, -0.2f, 0.3f};
  EXPECT_EQ(MixToMono(mono.data(), 3, 1), mono);

  const std::vector<float> stereo = {1.0f, 0.0f, -0.5f, 0.25f, 32767.0f / 32768, 32767.0f / 32768};
  EXPECT_EQ(MixToMono(stereo.data(), 3, 2), (std::vector<float>{0.5f, -0.125f, 32767.0f / 32768}));

  // 2^24 + 1 + 1 is exact in double but not in float: (2^24 + 2) / 3 = 5592406.
  const std::vector<float> three = {16777216.0f, 1.0f, 1.0f};
  EXPECT_EQ(MixToMono(three.data(), 1, 3), std::vector<float>{5592406.0f});

  EXPECT_TRUE(MixToMono(nullptr, 0, 2).empty());
}

}  // namespace
}  // namespace crepe
