// The predictor's contract beyond parity: options and audio validated, batch size irrelevant.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "crepe/predictor.h"
#include "model_fixture.h"

namespace crepe {
namespace {

std::vector<float> Tone(double hz, int64_t n, int rate) {
  std::vector<float> s(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    s[static_cast<size_t>(i)] = static_cast<float>(0.3 * std::sin(2 * M_PI * hz * i / rate));
  return s;
}

TEST(Predictor, BatchSizeDoesNotChangeAnyOutput) {
  Model* model = test::CpuModel(Capacity::kTiny);
  ASSERT_NE(model, nullptr);
  Predictor predictor(*model);
  AudioBuffer audio{Tone(330, 22050, 22050), 22050, 1};
  PredictOptions options;
  options.decoder = Decoder::kViterbi;
  options.want_activations = true;
  options.want_embeddings = true;
  options.batch_frames = 256;
  auto reference = predictor.Predict(audio, options);
  ASSERT_TRUE(reference.ok()) << reference.status().ToString();
  for (int64_t batch : {1, 3, 64}) {
    options.batch_frames = batch;
    auto p = predictor.Predict(audio, options);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->activations, reference->activations) << batch;
    EXPECT_EQ(p->embeddings, reference->embeddings) << batch;
    EXPECT_EQ(p->confidence, reference->confidence) << batch;
    for (size_t t = 0; t < p->frequency.size(); ++t) ASSERT_EQ(p->frequency[t], reference->frequency[t]) << batch;
  }
}

TEST(Predictor, StereoIsMixedDown) {
  Model* model = test::CpuModel(Capacity::kTiny);
  ASSERT_NE(model, nullptr);
  Predictor predictor(*model);
  const std::vector<float> mono = Tone(220, 16000, 16000);
  std::vector<float> stereo;
  for (float v : mono) {
    stereo.push_back(v);
    stereo.push_back(v);
  }
  auto a = predictor.Predict(AudioBuffer{mono, 16000, 1}, PredictOptions{});
  auto b = predictor.Predict(AudioBuffer{stereo, 16000, 2}, PredictOptions{});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->confidence, b->confidence);
}

TEST(Predictor, RejectsBadAudioAndOptions) {
  Model* model = test::CpuModel(Capacity::kTiny);
  ASSERT_NE(model, nullptr);
  Predictor predictor(*model);
  std::vector<float> audio = Tone(220, 16000, 16000);
  PredictOptions ok;
  EXPECT_TRUE(predictor.Predict(AudioBuffer{audio, 16000, 1}, ok).ok());

  std::vector<float> with_nan = audio;
  with_nan[100] = NAN;
  auto r = predictor.Predict(AudioBuffer{with_nan, 16000, 1}, ok);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("NaN"), std::string::npos) << r.status().message();
  EXPECT_EQ(predictor.Predict(AudioBuffer{{}, 16000, 1}, ok).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(predictor.Predict(AudioBuffer{audio, 16000, 3}, ok).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(predictor.Predict(AudioBuffer{audio, 50, 1}, ok).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(predictor.Predict(AudioBuffer{audio, 16000, 0}, ok).status().code(), StatusCode::kInvalidArgument);

  auto expect_invalid = [&](PredictOptions o) {
    EXPECT_EQ(predictor.Predict(AudioBuffer{audio, 16000, 1}, o).status().code(), StatusCode::kInvalidArgument);
  };
  PredictOptions o;
  o.batch_frames = 0;
  expect_invalid(o);
  o = {};
  o.hop = HopSpec::Samples(0);
  expect_invalid(o);
  o = {};
  o.fmin_hz = 800;
  o.fmax_hz = 200;
  expect_invalid(o);
  o = {};
  o.post.pitch_mean_window = 2;
  expect_invalid(o);
  o = {};
  o.post.silence_db = NAN;
  expect_invalid(o);
}

TEST(Predictor, PostProcessingUnvoicesSilence) {
  Model* model = test::CpuModel(Capacity::kTiny);
  ASSERT_NE(model, nullptr);
  Predictor predictor(*model);
  // A second of a voice-like harmonic tone, then a second of digital silence.
  std::vector<float> audio(32000, 0.0f);
  for (int h = 1; h <= 30; ++h) {
    const std::vector<float> partial = Tone(220.0 * h, 16000, 16000);
    for (size_t i = 0; i < partial.size(); ++i) audio[i] += partial[i] / static_cast<float>(3 * h);
  }
  PredictOptions o;
  o.post.silence_db = -60;
  o.post.threshold = 0.21f;
  auto p = predictor.Predict(AudioBuffer{audio, 16000, 1}, o);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->frames(), 201);
  EXPECT_FALSE(std::isnan(p->frequency[50]));
  EXPECT_NEAR(1200 * std::log2(p->frequency[50] / 220.0), 0, 20);
  for (int t = 160; t < 201; ++t) EXPECT_TRUE(std::isnan(p->frequency[t])) << t;
}

}  // namespace
}  // namespace crepe
