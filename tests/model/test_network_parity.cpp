// The network against the original Keras CREPE, on the frames the original was fed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <thread>

#include "crepe/capacity.h"
#include "crepe/model.h"
#include "model_fixture.h"
#include "support/fixtures.h"
#include "support/test_paths.h"

namespace crepe {
namespace {

constexpr double kMaxTolerance = 1e-5;
constexpr double kMeanTolerance = 1e-7;

const NpyArray& ReferenceFrames() {
  static const NpyArray frames = test::LoadNpy(test::SharedPath("testdata/crepe-reference/frames-crepe.npy"));
  return frames;
}

std::vector<float> Infer(Model& model, const std::vector<float>& frames) {
  const int64_t n = static_cast<int64_t>(frames.size()) / kFrameLength;
  std::vector<float> out(static_cast<size_t>(n) * kPitchBins);
  Status s = model.Infer(frames.data(), n, out.data());
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

// tiny and full: the original's own activations (activation-<cap>.npy) on all 1001 frames.
class OriginalActivations : public ::testing::TestWithParam<Capacity> {};

TEST_P(OriginalActivations, MatchWithinTolerance) {
  const Capacity c = GetParam();
  Model* model = test::CpuModel(c);
  ASSERT_NE(model, nullptr);
  const NpyArray& frames = ReferenceFrames();
  ASSERT_EQ(frames.shape, (std::vector<int64_t>{1001, kFrameLength}));
  const NpyArray expected =
      test::LoadNpy(test::SharedPath("testdata/crepe-reference/activation-" + std::string(CapacityName(c)) + ".npy"));
  const auto [max_diff, mean_diff] = test::MaxMeanAbsDiff(Infer(*model, frames.data), expected.data);
  std::printf("[ figures  ] %s vs the original: max |diff| %.3g, mean |diff| %.3g\n", CapacityName(c).data(), max_diff,
              mean_diff);
  EXPECT_LT(max_diff, kMaxTolerance) << CapacityName(c);
  EXPECT_LT(mean_diff, kMeanTolerance) << CapacityName(c);
}

INSTANTIATE_TEST_SUITE_P(TinyAndFull, OriginalActivations, ::testing::Values(Capacity::kTiny, Capacity::kFull),
                         [](const auto& p) { return std::string(CapacityName(p.param)); });

// All five: golden activations from the independent TensorFlow/Keras implementation
// (tools/goldens) on every fourth frame.
class GoldenActivations : public ::testing::TestWithParam<Capacity> {};

TEST_P(GoldenActivations, MatchWithinTolerance) {
  const Capacity c = GetParam();
  Model* model = test::CpuModel(c);
  ASSERT_NE(model, nullptr);
  const std::vector<float> frames = test::EveryNthRow(ReferenceFrames().data, kFrameLength, 4);
  const NpyArray expected = test::LoadNpy(
      test::SourcePath("tests/fixtures/golden/activation-" + std::string(CapacityName(c)) + "-every4.npy"));
  ASSERT_EQ(expected.shape, (std::vector<int64_t>{251, kPitchBins}));
  const auto [max_diff, mean_diff] = test::MaxMeanAbsDiff(Infer(*model, frames), expected.data);
  std::printf("[ figures  ] %s vs the Keras golden: max |diff| %.3g, mean |diff| %.3g\n", CapacityName(c).data(),
              max_diff, mean_diff);
  EXPECT_LT(max_diff, kMaxTolerance) << CapacityName(c);
  EXPECT_LT(mean_diff, kMeanTolerance) << CapacityName(c);
}

INSTANTIATE_TEST_SUITE_P(AllCapacities, GoldenActivations, ::testing::ValuesIn(kAllCapacities),
                         [](const auto& p) { return std::string(CapacityName(p.param)); });

// Infer over `frames` handed over `chunk` frames at a time.
std::vector<float> InferInChunks(Model& model, const std::vector<float>& frames, int64_t chunk) {
  const int64_t n = static_cast<int64_t>(frames.size()) / kFrameLength;
  std::vector<float> out(static_cast<size_t>(n) * kPitchBins);
  for (int64_t first = 0; first < n; first += chunk) {
    const int64_t count = std::min(chunk, n - first);
    EXPECT_TRUE(model.Infer(frames.data() + first * kFrameLength, count, out.data() + first * kPitchBins).ok());
  }
  return out;
}

TEST(Network, HowFramesAreSplitOverCallsDoesNotChangeResults) {
  const std::vector<float> frames = test::EveryNthRow(ReferenceFrames().data, kFrameLength, 10);
  Model* model = test::CpuModel(Capacity::kTiny);
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->info().micro_batch, 32);
  const auto reference = Infer(*model, frames);
  for (int64_t chunk : {1, 7, 32, 33, 100}) EXPECT_EQ(InferInChunks(*model, frames, chunk), reference) << chunk;
}

TEST(Network, ConcurrentCallersGetTheSameResults) {
  const std::vector<float> frames = test::EveryNthRow(ReferenceFrames().data, kFrameLength, 10);
  Model* model = test::CpuModel(Capacity::kTiny);
  ASSERT_NE(model, nullptr);
  const auto reference = Infer(*model, frames);
  std::vector<std::vector<float>> results(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = InferInChunks(*model, frames, 5 + static_cast<int64_t>(i) * 11); });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) EXPECT_EQ(r, reference);
}

TEST(Network, OriginalTinyFileAndPackagedTinyFileAgree) {
  // The original file has 4-D kernels and other group names; the loader resolves both.
  auto original = Model::Load(test::SharedPath("testdata/crepe-weights/model-tiny.h5"), Capacity::kTiny);
  ASSERT_TRUE(original.ok()) << original.status().ToString();
  Model* packaged = test::CpuModel(Capacity::kTiny);
  ASSERT_NE(packaged, nullptr);
  const std::vector<float> frames = test::EveryNthRow(ReferenceFrames().data, kFrameLength, 50);
  EXPECT_EQ(Infer(**original, frames), Infer(*packaged, frames));
  EXPECT_EQ((*original)->info().weights_sha256, "409254d6a537cc432061112b7ec5f6fd283658f108fc2abc24db9c25858b42df");
}

TEST(Network, RejectsBadCalls) {
  Model* model = test::CpuModel(Capacity::kTiny);
  ASSERT_NE(model, nullptr);
  float out[kPitchBins];
  EXPECT_EQ(model->Infer(nullptr, 1, out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(model->Infer(out, -1, out).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(model->Infer(nullptr, 0, nullptr).ok());
}

}  // namespace
}  // namespace crepe
