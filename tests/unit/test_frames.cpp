#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "crepe/capacity.h"
#include "crepe/frames.h"
#include "crepe/pitch_session.h"

namespace crepe {
namespace {

TEST(FrameGrid, CentredTenMillisecondsMatchesTheOriginalCount) {
  // test.wav: 160000 samples at 16 kHz -> 1 + 160000 // 160 = 1001 frames.
  auto g = FrameGrid::Make(160000, 44100, HopSpec::Milliseconds(10), true);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->size(), 1001);
  EXPECT_EQ(g->Start(0), -512);
  EXPECT_EQ(g->Start(1), 160 - 512);
  EXPECT_DOUBLE_EQ(g->Time(0), 0.0);
  EXPECT_DOUBLE_EQ(g->Time(1000), 10.0);
}

TEST(FrameGrid, UncentredCountMatchesTheOriginal) {
  // 1 + int((160000 - 1024) / 160) = 994 frames, centred on start + 512.
  auto g = FrameGrid::Make(160000, 16000, HopSpec::Milliseconds(10), false);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->size(), 994);
  EXPECT_EQ(g->Start(0), 0);
  EXPECT_DOUBLE_EQ(g->Time(0), 512.0 / 16000);
  EXPECT_EQ(g->Start(993) + kFrameLength, 993 * 160 + 1024);
}

TEST(FrameGrid, HopInSamplesAtTheCallersRateIsExactNotTruncated) {
  // 441 samples at 44.1 kHz is exactly 160 at 16 kHz.
  auto g = FrameGrid::Make(160000, 44100, HopSpec::Samples(441), true);
  ASSERT_TRUE(g.ok());
  EXPECT_DOUBLE_EQ(g->hop_16k(), 160.0);
  // 220 samples at 22.05 kHz is 159.637... at 16 kHz: frame times must not drift (torchcrepe
  // truncates to 159 and is 0.36 s late after 10 minutes).
  auto h = FrameGrid::Make(16000 * 600, 22050, HopSpec::Samples(220), true);
  ASSERT_TRUE(h.ok());
  const int64_t t = 60000;
  EXPECT_NEAR(h->Time(t), t * 220.0 / 22050.0, 0.5 / 16000);
}

TEST(FrameGrid, FractionalMillisecondHops) {
  auto g = FrameGrid::Make(16000, 16000, HopSpec::Milliseconds(5.5), true);
  ASSERT_TRUE(g.ok());
  EXPECT_DOUBLE_EQ(g->hop_16k(), 88.0);
  EXPECT_EQ(g->size(), 1 + 16000 / 88);
}

TEST(FrameGrid, RejectsBadHopsAndEmptyAudio) {
  EXPECT_EQ(FrameGrid::Make(16000, 16000, HopSpec::Milliseconds(0), true).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(FrameGrid::Make(16000, 16000, HopSpec::Milliseconds(-10), true).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(FrameGrid::Make(16000, 16000, HopSpec::Milliseconds(NAN), true).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(FrameGrid::Make(16000, 16000, HopSpec::Samples(0.5), true).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(FrameGrid::Make(16000, 16000, HopSpec::Milliseconds(60000), true).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(FrameGrid::Make(16000, 0, HopSpec::Samples(160), true).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(FrameGrid::Make(0, 16000, HopSpec::Milliseconds(10), true).status().code(), StatusCode::kInvalidArgument);
  auto short_uncentred = FrameGrid::Make(1000, 16000, HopSpec::Milliseconds(10), false);
  EXPECT_EQ(short_uncentred.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(short_uncentred.status().message().find("shorter than one 1024-sample window"), std::string::npos);
  // A short clip with centring is fine: one frame.
  auto short_centred = FrameGrid::Make(100, 16000, HopSpec::Milliseconds(10), true);
  ASSERT_TRUE(short_centred.ok());
  EXPECT_EQ(short_centred->size(), 1);
}

TEST(Frames, ExtractPadsWithZerosAndNormaliseMatchesTheOriginal) {
  std::vector<float> audio(2000);
  for (size_t i = 0; i < audio.size(); ++i) audio[i] = static_cast<float>(i % 7) - 3.0f;
  std::vector<float> frame(kFrameLength);
  ExtractFrame(audio.data(), static_cast<int64_t>(audio.size()), -512, frame.data());
  EXPECT_EQ(frame[0], 0.0f);
  EXPECT_EQ(frame[511], 0.0f);
  EXPECT_EQ(frame[512], audio[0]);
  NormaliseFrame(frame.data());
  double mean = 0, sq = 0;
  for (float v : frame) mean += v;
  mean /= kFrameLength;
  for (float v : frame) sq += (v - mean) * (v - mean);
  EXPECT_NEAR(mean, 0.0, 1e-6);
  EXPECT_NEAR(std::sqrt(sq / kFrameLength), 1.0, 1e-5);  // population std
}

TEST(Frames, SilentFrameStaysZero) {
  std::vector<float> frame(kFrameLength, 0.0f);
  NormaliseFrame(frame.data());
  for (float v : frame) EXPECT_EQ(v, 0.0f);
}

}  // namespace
}  // namespace crepe

namespace crepe {
namespace {

// Windows taken from a session (for cutting on a device) hold exactly the frames TakeFrames cuts:
// same signal, same starts, zeros past the ends; pieces of any size, a 44.1 kHz input, a
// fractional hop, and a loudness gate that reads each window.
TEST(PitchSessionWindows, HoldExactlyTheFramesTakeFramesCuts) {
  SessionConfig config;
  config.sample_rate = 44100;
  config.options.hop = HopSpec::Milliseconds(7.3);
  config.options.post.silence_db = -60;
  config.options.post.silence_reference_db = 0;
  auto a = PitchSession::Make(config), b = PitchSession::Make(config);
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<float> audio(44100 * 2);
  for (size_t i = 0; i < audio.size(); ++i) audio[i] = static_cast<float>(0.3 * std::sin(0.01 * static_cast<double>(i)));
  std::vector<float> frames, expected, samples;
  std::vector<int64_t> starts;
  int64_t taken = 0;
  auto take = [&](bool final) {
    while ((*a)->frames_ready() > 0) {
      const int64_t want = 1 + taken % 37;
      int64_t first_a = 0, first_b = 0;
      const int64_t n = (*a)->TakeWindows(&samples, &starts, want, &first_a);
      ASSERT_EQ(static_cast<int64_t>(starts.size()), n);
      frames.resize(static_cast<size_t>(n) * kFrameLength);
      ASSERT_EQ((*b)->TakeFrames(frames.data(), want, &first_b), n);
      ASSERT_EQ(first_a, first_b);
      for (int64_t i = 0; i < n; ++i) {
        std::vector<float> f(samples.begin() + starts[i], samples.begin() + starts[i] + kFrameLength);
        NormaliseFrame(f.data());
        ASSERT_EQ(0, std::memcmp(f.data(), &frames[i * kFrameLength], sizeof(float) * kFrameLength))
            << "frame " << first_a + i;
      }
      taken += n;
    }
    (void)final;
  };
  for (size_t at = 0; at < audio.size();) {
    const size_t piece = std::min<size_t>(audio.size() - at, 1 + (at * 7919) % 5000);
    ASSERT_TRUE((*a)->PushAudio(audio.data() + at, static_cast<int64_t>(piece)).ok());
    ASSERT_TRUE((*b)->PushAudio(audio.data() + at, static_cast<int64_t>(piece)).ok());
    at += piece;
    take(false);
  }
  ASSERT_TRUE((*a)->Finish().ok() && (*b)->Finish().ok());
  take(true);
  EXPECT_EQ(taken, (*a)->total_frames());
  EXPECT_GT(taken, 250);
}

}  // namespace
}  // namespace crepe
