#include <gtest/gtest.h>

#include <filesystem>

#include "crepe/capacity.h"
#include "crepe/model.h"
#include "model_fixture.h"
#include "support/fixtures.h"
#include "support/test_paths.h"

namespace crepe {
namespace {

class Embeddings : public ::testing::TestWithParam<Capacity> {};

TEST_P(Embeddings, HaveTorchcrepesShapeAndMatchTheGoldenWhereOneExists) {
  const Capacity c = GetParam();
  Model* model = test::CpuModel(c);
  ASSERT_NE(model, nullptr);
  const int expected_width = ArchitectureOf(c).filters[4] / 4;
  EXPECT_EQ(model->info().embedding_width, expected_width);
  const int widths[] = {8, 16, 32, 48, 64};
  EXPECT_EQ(expected_width, widths[static_cast<int>(c)]);

  const NpyArray all = test::LoadNpy(test::SharedPath("testdata/crepe-reference/frames-crepe.npy"));
  const std::vector<float> frames = test::EveryNthRow(all.data, kFrameLength, 50);
  const int64_t n = static_cast<int64_t>(frames.size()) / kFrameLength;
  std::vector<float> act(static_cast<size_t>(n) * kPitchBins);
  std::vector<float> emb(static_cast<size_t>(n) * kEmbeddingRows * expected_width, -1.0f);
  ASSERT_TRUE(model->Infer(frames.data(), n, act.data(), emb.data()).ok());
  for (float v : emb) ASSERT_GE(v, -1e6f);  // every element written

  const auto golden =
      test::SourcePath("tests/fixtures/golden/embedding-" + std::string(CapacityName(c)) + "-every50.npy");
  if (std::filesystem::exists(golden)) {
    const NpyArray expected = test::LoadNpy(golden);
    ASSERT_EQ(expected.shape, (std::vector<int64_t>{n, kEmbeddingRows, expected_width}));
    const auto [max_diff, mean_diff] = test::MaxMeanAbsDiff(emb, expected.data);
    // Embeddings are BN outputs of order 1-10, not probabilities: compare relative to their scale.
    EXPECT_LT(max_diff, 1e-3) << "mean " << mean_diff;
  }
}

INSTANTIATE_TEST_SUITE_P(AllCapacities, Embeddings, ::testing::ValuesIn(kAllCapacities),
                         [](const auto& p) { return std::string(CapacityName(p.param)); });

}  // namespace
}  // namespace crepe
