// Post-processing (filters, thresholds, loudness, silence gate) against torchcrepe's own test
// cases and the fixtures written by tools/peers/make_postprocess_fixtures.py.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "crepe/file_io.h"
#include "crepe/frames.h"
#include "crepe/postprocess.h"
#include "support/fixtures.h"
#include "support/test_paths.h"

namespace crepe {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// A fixture written by tools/peers/make_postprocess_fixtures.py (fails the test if unreadable).
NpyArray LoadFixture(const std::string& name) {
  return test::LoadNpy(test::SourcePath("tests/fixtures/postprocess/" + name));
}

std::vector<float> Row(const NpyArray& npy, int64_t row) {
  const int64_t width = npy.shape.back();
  return std::vector<float>(npy.data.begin() + row * width, npy.data.begin() + (row + 1) * width);
}

// torch.allclose(actual, expected, rtol, atol, equal_nan=True), reporting the first mismatch.
::testing::AssertionResult AllClose(const std::vector<float>& actual, const std::vector<float>& expected,
                                    double rtol = 1e-5, double atol = 1e-8) {
  if (actual.size() != expected.size()) {
    return ::testing::AssertionFailure() << "size " << actual.size() << " vs " << expected.size();
  }
  for (size_t i = 0; i < actual.size(); ++i) {
    const double a = actual[i];
    const double e = expected[i];
    if (std::isnan(a) && std::isnan(e)) continue;
    if (std::isnan(a) != std::isnan(e) || !(std::abs(a - e) <= atol + rtol * std::abs(e))) {
      return ::testing::AssertionFailure() << "index " << i << ": " << a << " vs expected " << e;
    }
  }
  return ::testing::AssertionSuccess();
}

// ---------------------------------------------------------------------------------------------
// Filters

TEST(PostprocessFilterTest, MatchesTorchcrepeFixtures) {
  const NpyArray input = LoadFixture("filter_input.npy");
  const NpyArray windows = LoadFixture("filter_windows.npy");
  const NpyArray means = LoadFixture("filter_mean.npy");
  const NpyArray medians = LoadFixture("filter_median.npy");
  ASSERT_EQ(means.shape.size(), 2u);
  ASSERT_EQ(means.shape[0], static_cast<int64_t>(windows.data.size()));
  ASSERT_EQ(medians.shape, means.shape);
  for (size_t i = 0; i < windows.data.size(); ++i) {
    const int w = static_cast<int>(windows.data[i]);
    auto mean = MeanFilter(input.data, w);
    ASSERT_TRUE(mean.ok()) << mean.status().ToString();
    EXPECT_TRUE(AllClose(*mean, Row(means, static_cast<int64_t>(i)))) << "mean, window " << w;
    auto median = MedianFilter(input.data, w);
    ASSERT_TRUE(median.ok()) << median.status().ToString();
    EXPECT_TRUE(AllClose(*median, Row(medians, static_cast<int64_t>(i)))) << "median, window " << w;
  }
}

TEST(PostprocessFilterTest, MedianIsTheLowerMedianOfValidValues) {
  const std::vector<float> x = {4, 1, kNaN, 3, 2, kNaN, kNaN, kNaN, 5};
  auto median = MedianFilter(x, 3);
  ASSERT_TRUE(median.ok());
  // Windows: {4,1} {4,1,-} {1,-,3} {-,3,2} {3,2,-} {2,-,-} {-,-,-} {-,-,5} {-,5}.
  EXPECT_TRUE(AllClose(*median, {1, 1, 1, 2, 2, 2, kNaN, 5, 5}));
  auto wide = MedianFilter(x, 5);
  ASSERT_TRUE(wide.ok());
  // {4,1,-} {4,1,-,3} {4,1,-,3,2} {1,-,3,2,-} {-,3,2,-,-} {3,2,-,-,-} {2,-,-,-,5} {-,-,-,5} {-,-,5}.
  EXPECT_TRUE(AllClose(*wide, {1, 3, 2, 2, 2, 2, 2, 5, 5}));
}

TEST(PostprocessFilterTest, ShortInputsUseTruncatedWindows) {
  // torchcrepe's reflect padding rejects these (window / 2 >= length); we truncate instead.
  const std::vector<float> x = {3, 1};
  auto median = MedianFilter(x, 9);
  ASSERT_TRUE(median.ok());
  EXPECT_TRUE(AllClose(*median, {1, 1}));
  auto mean = MeanFilter(x, 9);
  ASSERT_TRUE(mean.ok());
  EXPECT_TRUE(AllClose(*mean, {2, 2}));
  auto single = MedianFilter({7}, 3);
  ASSERT_TRUE(single.ok());
  EXPECT_TRUE(AllClose(*single, {7}));
}

TEST(PostprocessFilterTest, MeanKeepsGenuineZeros) {
  // torchcrepe would return NaN for every one of these exact-zero means.
  const std::vector<float> x = {-1, 1, 0, kNaN, 0, 2, -2};
  auto mean = MeanFilter(x, 3);
  ASSERT_TRUE(mean.ok());
  EXPECT_TRUE(AllClose(*mean, {0, 0, 0.5f, 0, 1, 0, 0}));
  auto all_nan = MeanFilter({kNaN, kNaN}, 3);
  ASSERT_TRUE(all_nan.ok());
  EXPECT_TRUE(std::isnan((*all_nan)[0]) && std::isnan((*all_nan)[1]));
}

TEST(PostprocessFilterTest, WindowOfOneIsIdentity) {
  const std::vector<float> x = {0.5f, kNaN, -2, 0};
  for (auto* filter : {&MeanFilter, &MedianFilter}) {
    auto y = (*filter)(x, 1);
    ASSERT_TRUE(y.ok());
    EXPECT_TRUE(AllClose(*y, x, 0, 0));
  }
}

TEST(PostprocessFilterTest, EmptyInputGivesEmptyOutput) {
  auto mean = MeanFilter({}, 3);
  ASSERT_TRUE(mean.ok());
  EXPECT_TRUE(mean->empty());
  auto median = MedianFilter({}, 3);
  ASSERT_TRUE(median.ok());
  EXPECT_TRUE(median->empty());
}

TEST(PostprocessFilterTest, RejectsEvenAndNonPositiveWindows) {
  for (int w : {0, -1, -3, 2, 4, 10}) {
    auto mean = MeanFilter({1, 2, 3}, w);
    ASSERT_FALSE(mean.ok()) << w;
    EXPECT_EQ(mean.status().code(), StatusCode::kInvalidArgument);
    auto median = MedianFilter({1, 2, 3}, w);
    ASSERT_FALSE(median.ok()) << w;
    EXPECT_EQ(median.status().code(), StatusCode::kInvalidArgument);
  }
}

// ---------------------------------------------------------------------------------------------
// Thresholds

TEST(PostprocessThresholdTest, AtMatchesTorchcrepeTest) {
  // torchcrepe tests/test_threshold.py::test_at.
  const std::vector<float> pitch = {100, 110, 120, 130, 140};
  const std::vector<float> periodicity = {.19f, .22f, .25f, .17f, .30f};
  const std::vector<float> pitch_before = pitch;
  auto out = ApplyThreshold(pitch, periodicity, .20f);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    if (i == 0 || i == 3) {
      EXPECT_TRUE(std::isnan((*out)[i])) << i;
    } else {
      EXPECT_EQ((*out)[i], pitch[i]) << i;
    }
  }
  EXPECT_EQ(pitch, pitch_before);
}

TEST(PostprocessThresholdTest, AtIsStrict) {
  auto out = ApplyThreshold({1, 2}, {0.5f, 0.49f}, 0.5f);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ((*out)[0], 1.0f);
  EXPECT_TRUE(std::isnan((*out)[1]));
}

TEST(PostprocessThresholdTest, AtRejectsBadArguments) {
  EXPECT_EQ(ApplyThreshold({1, 2}, {0.5f}, 0.2f).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ApplyThreshold({1}, {0.5f}, kNaN).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ApplyThreshold({1}, {0.5f}, std::numeric_limits<float>::infinity()).status().code(),
            StatusCode::kInvalidArgument);
  auto empty = ApplyThreshold({}, {}, 0.2f);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(PostprocessHysteresisTest, MatchesTorchcrepeWithDefaults) {
  const NpyArray pitch = LoadFixture("hysteresis_pitch.npy");
  const NpyArray periodicity = LoadFixture("hysteresis_periodicity.npy");
  const NpyArray expected = LoadFixture("hysteresis_default.npy");
  auto out = ApplyHysteresis(pitch.data, periodicity.data, HysteresisOptions{});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_TRUE(AllClose(*out, expected.data));
  // The fixture must exercise more than the lower bound.
  auto at_lower = ApplyThreshold(pitch.data, periodicity.data, HysteresisOptions{}.lower);
  ASSERT_TRUE(at_lower.ok());
  int64_t extra = 0;
  for (size_t i = 0; i < out->size(); ++i) extra += std::isnan((*out)[i]) && !std::isnan((*at_lower)[i]);
  EXPECT_GT(extra, 0);
}

TEST(PostprocessHysteresisTest, MatchesTorchcrepeWithCustomOptions) {
  const NpyArray pitch = LoadFixture("hysteresis_pitch.npy");
  const NpyArray periodicity = LoadFixture("hysteresis_periodicity.npy");
  const NpyArray expected = LoadFixture("hysteresis_custom.npy");
  const NpyArray options = LoadFixture("hysteresis_custom_options.npy");
  ASSERT_EQ(options.data.size(), 4u);
  HysteresisOptions o;
  o.lower = options.data[0];
  o.upper = options.data[1];
  o.width = options.data[2];
  o.stds = options.data[3];
  auto out = ApplyHysteresis(pitch.data, periodicity.data, o);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_TRUE(AllClose(*out, expected.data));
}

TEST(PostprocessHysteresisTest, DropsRegionsThatNeverPassTheUpperBound) {
  // Constant pitch: std is 0, so every threshold is the lower bound (.19). The first region
  // (.25, .28) never exceeds .31 and goes; the second (.25, .40) stays.
  const std::vector<float> pitch(8, 220.0f);
  const std::vector<float> periodicity = {.1f, .25f, .28f, .1f, .25f, .40f, .1f, .5f};
  auto out = ApplyHysteresis(pitch, periodicity, HysteresisOptions{});
  ASSERT_TRUE(out.ok());
  const std::vector<float> expected = {kNaN, kNaN, kNaN, kNaN, 220, 220, kNaN, 220};
  EXPECT_TRUE(AllClose(*out, expected, 0, 0));
}

TEST(PostprocessHysteresisTest, RejectsBadArguments) {
  EXPECT_EQ(ApplyHysteresis({1, 2}, {1}, {}).status().code(), StatusCode::kInvalidArgument);
  HysteresisOptions bad;
  bad.upper = kNaN;
  EXPECT_EQ(ApplyHysteresis({1}, {1}, bad).status().code(), StatusCode::kInvalidArgument);
  auto empty = ApplyHysteresis({}, {}, {});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

// ---------------------------------------------------------------------------------------------
// Loudness and the silence gate

void ExpectLoudnessMatches(bool center, const std::string& expected_name) {
  const NpyArray audio = LoadFixture("loudness_audio.npy");
  const NpyArray expected = LoadFixture(expected_name);
  const auto n = static_cast<int64_t>(audio.data.size());
  auto grid = FrameGrid::Make(n, 16000, HopSpec::Milliseconds(10), center);
  ASSERT_TRUE(grid.ok()) << grid.status().ToString();
  ASSERT_EQ(grid->size(), static_cast<int64_t>(expected.data.size()));
  const std::vector<float> loudness = AWeightedLoudness(audio.data.data(), n, *grid);
  EXPECT_TRUE(AllClose(loudness, expected.data, 0.0, 1e-3));  // within 1e-3 dB
}

TEST(PostprocessLoudnessTest, MatchesTorchcrepeCentred) { ExpectLoudnessMatches(true, "loudness_center.npy"); }

TEST(PostprocessLoudnessTest, MatchesTorchcrepeUncentred) { ExpectLoudnessMatches(false, "loudness_nocenter.npy"); }

TEST(PostprocessLoudnessTest, SilenceIsMinus100AndAToneIsLoud) {
  // All-zero audio: every bin is floored at -100 dB.
  const std::vector<float> zeros(4000, 0.0f);
  auto grid = FrameGrid::Make(4000, 16000, HopSpec::Milliseconds(10), true);
  ASSERT_TRUE(grid.ok());
  for (float v : AWeightedLoudness(zeros.data(), 4000, *grid)) EXPECT_FLOAT_EQ(v, -100.0f);

  // A voice-like harmonic tone for a second, then digital silence. Empty bins are floored 80 dB
  // below the clip's loudest bin (librosa's top_db), so the silence reads a level relative to the
  // clip, below torchcrepe's usual -60 dB gate, and the tone well above it.
  std::vector<float> audio(32000, 0.0f);
  for (size_t i = 0; i < 16000; ++i) {
    for (int h = 1; h <= 30; ++h) audio[i] += static_cast<float>(0.1 / h * std::sin(2 * M_PI * 220.0 * h * i / 16000));
  }
  auto g = FrameGrid::Make(32000, 16000, HopSpec::Milliseconds(10), true);
  ASSERT_TRUE(g.ok());
  const std::vector<float> loudness = AWeightedLoudness(audio.data(), 32000, *g);
  EXPECT_GT(loudness[50], -60.0f);
  EXPECT_LT(loudness[150], -60.0f);
  EXPECT_GT(loudness[150], -100.0f);
}

TEST(PostprocessLoudnessTest, WithAFixedReferenceFramesAreIndependent) {
  // A frame's loudness then does not depend on audio outside its window: a loud burst at the end
  // leaves frames that do not reach it unchanged (what a stream needs).
  const NpyArray audio = LoadFixture("loudness_audio.npy");
  std::vector<float> louder = audio.data;
  for (size_t i = louder.size() - 1000; i < louder.size(); ++i) louder[i] *= 1000.0f;
  const auto n = static_cast<int64_t>(audio.data.size());
  auto g = FrameGrid::Make(n, 16000, HopSpec::Milliseconds(10), true);
  ASSERT_TRUE(g.ok());
  const auto a = AWeightedLoudness(audio.data.data(), n, *g, 0.0);
  const auto b = AWeightedLoudness(louder.data(), n, *g, 0.0);
  for (int64_t t = 0; t < g->size(); ++t) {
    if (g->Start(t) + 1024 <= n - 1000) {
      EXPECT_EQ(a[t], b[t]) << t;
    } else if (g->Start(t) + 512 >= n - 1000) {  // the burst covers the window's centre
      EXPECT_GT(b[t], a[t] + 10.0f) << t;
    }
  }
}

TEST(PostprocessSilenceTest, MatchesTorchcrepeSilence) {
  const NpyArray audio = LoadFixture("loudness_audio.npy");
  const NpyArray periodicity = LoadFixture("silence_periodicity.npy");
  const NpyArray threshold = LoadFixture("silence_threshold.npy");
  const NpyArray expected = LoadFixture("silence_expected.npy");
  const auto n = static_cast<int64_t>(audio.data.size());
  auto grid = FrameGrid::Make(n, 16000, HopSpec::Milliseconds(10), true);
  ASSERT_TRUE(grid.ok());
  const std::vector<float> loudness = AWeightedLoudness(audio.data.data(), n, *grid);
  std::vector<float> gated = periodicity.data;
  ASSERT_TRUE(ApplySilenceGate(gated, loudness, threshold.data.at(0)).ok());
  EXPECT_TRUE(AllClose(gated, expected.data, 0, 0));
  int64_t zeros = 0;
  for (float v : gated) zeros += v == 0.0f;
  EXPECT_GT(zeros, 0);
  EXPECT_LT(zeros, static_cast<int64_t>(gated.size()));
}

TEST(PostprocessSilenceTest, GatesStrictlyBelowAndRejectsBadArguments) {
  std::vector<float> periodicity = {0.9f, 0.8f, 0.7f};
  ASSERT_TRUE(ApplySilenceGate(periodicity, {-70.0f, -60.0f, -50.0f}, -60.0f).ok());
  EXPECT_EQ(periodicity, (std::vector<float>{0.0f, 0.8f, 0.7f}));
  EXPECT_EQ(ApplySilenceGate(periodicity, {-70.0f}, -60.0f).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ApplySilenceGate(periodicity, {0, 0, 0}, kNaN).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace crepe
