// Resampling: kaiser_best bit-exact against real resampy 0.4.3 (fixtures made by
// tools/resample_fixtures/make_fixtures.py), soxr_vhq lengths and sanity, dispatch and limits.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "audio/resample_internal.h"
#include "crepe/audio.h"
#include "crepe/file_io.h"
#include "support/test_paths.h"

namespace crepe {
namespace {

constexpr double kPi = 3.141592653589793;

std::string FixturePath(const std::string& name) { return test::SourcePath("tests/fixtures/resample/" + name); }

std::vector<float> LoadFixture(const std::string& name) {
  Result<NpyArray> array = ReadNpy(FixturePath(name));
  EXPECT_TRUE(array.ok()) << array.status().ToString();
  if (!array.ok()) return {};
  EXPECT_EQ(array->shape.size(), 1u);
  return array->data;
}

// A '<f8' .npy read without conversion (ReadNpy returns float32).
std::vector<double> LoadFloat64Fixture(const std::string& name) {
  std::ifstream in(FixturePath(name), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 10) return {};
  const size_t header_length = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  const std::string header = bytes.substr(10, header_length);
  EXPECT_NE(header.find("'descr': '<f8'"), std::string::npos) << header;
  std::vector<double> values((bytes.size() - 10 - header_length) / 8);
  std::memcpy(values.data(), bytes.data() + 10 + header_length, values.size() * 8);
  return values;
}

// The generator of make_fixtures.py: x <- 1664525 x + 1013904223 (mod 2^32), top 16 bits as int16.
class Lcg {
 public:
  explicit Lcg(uint32_t seed) : state_(seed) {}
  int32_t NextInt16() {
    state_ = 1664525u * state_ + 1013904223u;
    const int32_t v = static_cast<int32_t>(state_ >> 16);
    return v >= 32768 ? v - 65536 : v;
  }

 private:
  uint32_t state_;
};

float Pcm(int32_t v) { return static_cast<float>(static_cast<int16_t>(v)) / 32768.0f; }

std::vector<float> LcgWhite(uint32_t seed, int n) {
  Lcg g(seed);
  std::vector<float> x;
  for (int i = 0; i < n; ++i) x.push_back(Pcm(g.NextInt16()));
  return x;
}

std::vector<float> LcgWalk(uint32_t seed, int n) {
  Lcg g(seed);
  std::vector<float> x;
  int32_t acc = 0;
  for (int i = 0; i < n; ++i) {
    acc += g.NextInt16() >> 6;  // arithmetic shift = Python's floor shift
    acc = std::clamp(acc, -32768, 32767);
    x.push_back(Pcm(acc));
  }
  return x;
}

std::vector<float> LcgQuiet(uint32_t seed, int n) {
  Lcg g(seed);
  std::vector<float> x;
  for (int i = 0; i < n; ++i) x.push_back(Pcm(g.NextInt16() >> 8));
  return x;
}

// Distance in units in the last place between two finite floats.
int64_t UlpDistance(float a, float b) {
  auto key = [](float f) {
    int32_t i;
    std::memcpy(&i, &f, 4);
    return i < 0 ? int64_t{INT32_MIN} - i : int64_t{i};
  };
  return std::llabs(key(a) - key(b));
}

void ExpectBitExact(const std::vector<float>& actual, const std::vector<float>& expected, const std::string& label) {
  ASSERT_EQ(actual.size(), expected.size()) << label;
  int64_t mismatches = 0, max_ulp = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    if (std::memcmp(&actual[i], &expected[i], 4) != 0) {
      ++mismatches;
      max_ulp = std::max(max_ulp, UlpDistance(actual[i], expected[i]));
    }
  }
  EXPECT_EQ(mismatches, 0) << label << ": " << mismatches << " of " << actual.size() << " samples differ, max "
                           << max_ulp << " ulp";
}

std::vector<float> TestWavMono() {
  Result<AudioBuffer> audio = ReadAudioFile(test::SharedPath("testdata/crepe-reference/test.wav"));
  if (!audio.ok()) return {};
  EXPECT_EQ(audio->sample_rate, 44100);
  EXPECT_EQ(audio->channels, 1);
  return audio->samples;
}

TEST(KaiserBestFilter, RegeneratedWindowEqualsResampysShippedFilter) {
  const std::vector<double>& window = audio_internal::KaiserBestHalfWindow();
  ASSERT_EQ(window.size(), 409601u);
  const std::vector<double> shipped = LoadFloat64Fixture("kaiser_best_every1024.npy");
  ASSERT_EQ(shipped.size(), 401u);
  int mismatches = 0;
  for (size_t i = 0; i < shipped.size(); ++i) {
    if (window[i * 1024] != shipped[i]) ++mismatches;
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(window[0], audio_internal::kKaiserBestRolloff);
  EXPECT_EQ(&window, &audio_internal::KaiserBestHalfWindow());  // built once
}

TEST(KaiserBestFilter, BesselI0MatchesNumpy) {
  EXPECT_EQ(audio_internal::BesselI0(0.0), 1.0);
  EXPECT_EQ(audio_internal::BesselI0(1.0), 1.2660658777520082);
  EXPECT_EQ(audio_internal::BesselI0(-1.0), 1.2660658777520082);
  EXPECT_EQ(audio_internal::BesselI0(8.0), 427.56411572180474);
  EXPECT_EQ(audio_internal::BesselI0(8.5), 683.1619269901155);
  EXPECT_EQ(audio_internal::BesselI0(12.984585247040012), 48717.65608332049);
  EXPECT_EQ(audio_internal::BesselI0(30.0), 781672297823.9775);
}

TEST(KaiserBest, BitExactWithResampyOnTestWav) {
  const std::vector<float> x = TestWavMono();
  if (x.empty()) GTEST_SKIP() << "shared test.wav not available";
  const std::vector<float> first_second(x.begin(), x.begin() + 44100);
  Result<std::vector<float>> y = ResampleTo16k(first_second, 44100, ResamplerKind::kKaiserBest);
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  ExpectBitExact(*y, LoadFixture("test_wav_1s.npy"), "test.wav[0:1s] 44100->16000");

  const std::vector<float> short_piece(x.begin() + 20000, x.begin() + 20100);
  y = ResampleTo16k(short_piece, 44100, ResamplerKind::kKaiserBest);
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  ExpectBitExact(*y, LoadFixture("test_wav_short.npy"), "test.wav[20000:20100] 44100->16000");
}

TEST(KaiserBest, WholeTestWavHasResampysLengthAndAgreesWithTheFirstSecond) {
  const std::vector<float> x = TestWavMono();
  if (x.empty()) GTEST_SKIP() << "shared test.wav not available";
  ASSERT_EQ(x.size(), 441000u);
  Result<std::vector<float>> y = ResampleTo16k(x, 44100, ResamplerKind::kKaiserBest);
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  ASSERT_EQ(y->size(), 160000u);
  // Outputs whose filter support ends inside the first second (50 zero crossings = ~138 input
  // samples) do not depend on the rest of the file.
  std::vector<float> head(y->begin(), y->begin() + 15900);
  std::vector<float> expected = LoadFixture("test_wav_1s.npy");
  expected.resize(15900);
  ExpectBitExact(head, expected, "test.wav (10 s) head");
}

TEST(KaiserBest, SplittingOverThreadsChangesNothing) {
  const std::vector<float> x = LcgWalk(5, 441000);
  auto one = audio_internal::ResampleKaiserBest(x.data(), static_cast<int64_t>(x.size()), 44100, 16000, 1);
  auto three = audio_internal::ResampleKaiserBest(x.data(), static_cast<int64_t>(x.size()), 44100, 16000, 3);
  ASSERT_TRUE(one.ok() && three.ok());
  ASSERT_EQ(one->size(), 160000u);
  EXPECT_TRUE(*one == *three);
}

TEST(KaiserBest, BitExactWithResampyOnSyntheticSignals) {
  struct Case {
    std::string fixture;
    std::vector<float> input;
    int rate;
  };
  const Case cases[] = {
      {"lcg_white_22050.npy", LcgWhite(1, 5513), 22050},
      {"lcg_walk_48000.npy", LcgWalk(2, 12000), 48000},
      {"lcg_quiet_8000.npy", LcgQuiet(3, 2001), 8000},
  };
  for (const Case& c : cases) {
    Result<std::vector<float>> y = ResampleTo16k(c.input, c.rate, ResamplerKind::kKaiserBest);
    ASSERT_TRUE(y.ok()) << y.status().ToString();
    ExpectBitExact(*y, LoadFixture(c.fixture), c.fixture);
  }
}

TEST(KaiserBest, ConcurrentCallsAgree) {
  const std::vector<float> x = LcgWhite(7, 4410);
  std::vector<std::vector<float>> results(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      Result<std::vector<float>> y = ResampleTo16k(x, 44100, ResamplerKind::kKaiserBest);
      if (y.ok()) results[i] = *y;
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_EQ(results[0].size(), 1600u);
  for (size_t i = 1; i < results.size(); ++i) EXPECT_EQ(results[i], results[0]);
}

TEST(Resample, SixteenKilohertzIsReturnedUnchanged) {
  const std::vector<float> x = LcgWhite(5, 1000);
  for (ResamplerKind kind : {ResamplerKind::kKaiserBest, ResamplerKind::kSoxrVhq}) {
    Result<std::vector<float>> y = ResampleTo16k(x, 16000, kind);
    ASSERT_TRUE(y.ok());
    EXPECT_EQ(*y, x);
  }
}

TEST(Resample, RejectsRatesOutsideTheLimits) {
  const std::vector<float> x(4000, 0.0f);
  for (int rate : {0, -44100, kMinSampleRate - 1, kMaxSampleRate + 1}) {
    Result<std::vector<float>> y = ResampleTo16k(x, rate, ResamplerKind::kKaiserBest);
    ASSERT_FALSE(y.ok()) << rate;
    EXPECT_EQ(y.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(y.status().message().find(std::to_string(rate)), std::string::npos) << y.status().message();
  }
  EXPECT_TRUE(ResampleTo16k(x, kMinSampleRate, ResamplerKind::kKaiserBest).ok());
  EXPECT_TRUE(ResampleTo16k(x, kMaxSampleRate, ResamplerKind::kSoxrVhq).ok());
}

TEST(Resample, RejectsInputsTooShortForOneOutputSample) {
  const std::vector<float> x(2, 0.5f);
  for (ResamplerKind kind : {ResamplerKind::kKaiserBest, ResamplerKind::kSoxrVhq}) {
    Result<std::vector<float>> y = ResampleTo16k(x, 44100, kind);
    ASSERT_FALSE(y.ok());
    EXPECT_EQ(y.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(y.status().message().find("too short"), std::string::npos);
  }
}

TEST(Resample, ResampledLengthIsTheFloor) {
  EXPECT_EQ(ResampledLength(441000, 44100), 160000);
  EXPECT_EQ(ResampledLength(5513, 22050), 4000);
  EXPECT_EQ(ResampledLength(2001, 8000), 4002);
  EXPECT_EQ(ResampledLength(100, 44100), 36);
  EXPECT_EQ(ResampledLength(2, 44100), 0);
  EXPECT_EQ(ResampledLength(12345, 16000), 12345);
  EXPECT_EQ(ResampledLength(kMaxAudioFrames, kMinSampleRate), kMaxAudioFrames * 16);
  EXPECT_EQ(ResampledLength(0, 44100), 0);
}

TEST(Resample, ParseAndNameRoundTrip) {
  for (ResamplerKind kind : {ResamplerKind::kKaiserBest, ResamplerKind::kSoxrVhq}) {
    Result<ResamplerKind> parsed = ParseResampler(ResamplerName(kind));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, kind);
  }
  EXPECT_EQ(ResamplerName(ResamplerKind::kKaiserBest), "kaiser_best");
  EXPECT_EQ(ResamplerName(ResamplerKind::kSoxrVhq), "soxr_vhq");
  Result<ResamplerKind> bad = ParseResampler("kaiser_fast");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("kaiser_fast"), std::string::npos);
}

std::vector<float> Sine(double hz, int rate, int64_t n) {
  std::vector<float> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(0.5 * std::sin(2 * kPi * hz * i / rate));
  return x;
}

// Frequency from upward zero crossings, ignoring the edges.
double ZeroCrossingFrequency(const std::vector<float>& y, int rate) {
  const size_t margin = y.size() / 10;
  std::vector<double> crossings;
  for (size_t i = margin; i + 1 < y.size() - margin; ++i) {
    if (y[i] <= 0 && y[i + 1] > 0) crossings.push_back(i + y[i] / (y[i] - y[i + 1]));
  }
  if (crossings.size() < 2) return 0;
  return (crossings.size() - 1) * rate / (crossings.back() - crossings.front());
}

TEST(SoxrVhq, LengthIsResampledLength) {
  for (int rate : {8000, 11025, 22050, 32000, 44100, 48000, 96000, 192000}) {
    for (int64_t n : {int64_t{1000}, int64_t{44101}, int64_t{rate} + 7}) {
      if (ResampledLength(n, rate) < 1) continue;
      const std::vector<float> x = LcgWhite(9, static_cast<int>(n));
      Result<std::vector<float>> y = ResampleTo16k(x, rate, ResamplerKind::kSoxrVhq);
      ASSERT_TRUE(y.ok()) << y.status().ToString();
      EXPECT_EQ(static_cast<int64_t>(y->size()), ResampledLength(n, rate)) << rate << " " << n;
    }
  }
}

TEST(SoxrVhq, A440SineStaysA440Sine) {
  for (int rate : {8000, 22050, 44100, 48000}) {
    const std::vector<float> x = Sine(440.0, rate, rate);  // 1 s
    for (ResamplerKind kind : {ResamplerKind::kSoxrVhq, ResamplerKind::kKaiserBest}) {
      Result<std::vector<float>> y = ResampleTo16k(x, rate, kind);
      ASSERT_TRUE(y.ok()) << y.status().ToString();
      ASSERT_EQ(y->size(), 16000u);
      EXPECT_NEAR(ZeroCrossingFrequency(*y, 16000), 440.0, 0.05) << rate << " " << ResamplerName(kind);
      // Still a 0.5-amplitude sine in the middle, sample by sample.
      double max_error = 0;
      for (size_t i = 4000; i < 12000; ++i) {
        max_error = std::max(max_error, std::fabs((*y)[i] - 0.5 * std::sin(2 * kPi * 440.0 * i / 16000)));
      }
      EXPECT_LT(max_error, 1e-3) << rate << " " << ResamplerName(kind);
    }
  }
}

}  // namespace
}  // namespace crepe

namespace crepe {
namespace {

// A stream fed in ragged pieces gives the whole-signal output bit for bit, for up- and
// down-sampling, and never emits a sample before its input has arrived.
TEST(KaiserBestStream, RaggedPiecesEqualTheWholeSignal) {
  std::vector<float> x(30011);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(std::sin(0.01 * i) + 0.1 * std::cos(0.37 * i));
  for (int rate : {8000, 22050, 44100, 48000}) {
    auto whole = audio_internal::ResampleKaiserBest(x.data(), static_cast<int64_t>(x.size()), rate, 16000);
    ASSERT_TRUE(whole.ok());
    auto stream = audio_internal::KaiserBestStream::Make(rate, 16000);
    ASSERT_TRUE(stream.ok());
    std::vector<float> out;
    const int64_t pieces[] = {1, 997, 13, 4096, 2};
    size_t pos = 0, k = 0;
    while (pos < x.size()) {
      const size_t n = std::min(x.size() - pos, static_cast<size_t>(pieces[k++ % 5]));
      ASSERT_TRUE((*stream)->Push(x.data() + pos, static_cast<int64_t>(n)).ok());
      pos += n;
      ASSERT_TRUE((*stream)->Drain(false, out).ok());
      // Output i sits at input i * rate / 16000: nothing may come out far ahead of the input.
      EXPECT_LE(static_cast<double>(out.size()) * rate / 16000, static_cast<double>(pos)) << rate;
    }
    EXPECT_GT(out.size(), whole->size() / 2) << rate;
    ASSERT_TRUE((*stream)->Drain(true, out).ok());
    ASSERT_EQ(out.size(), whole->size()) << rate;
    EXPECT_EQ(std::memcmp(out.data(), whole->data(), out.size() * sizeof(float)), 0) << rate;
  }
}

}  // namespace
}  // namespace crepe
