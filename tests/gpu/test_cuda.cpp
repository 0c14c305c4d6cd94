// CUDA against CPU. Skipped cleanly where no CUDA device is present.
#include <gtest/gtest.h>

#include "crepe/capacity.h"
#include "crepe/model.h"
#include "support/fixtures.h"
#include "support/test_paths.h"

namespace crepe {
namespace {

class CudaMatchesCpu : public ::testing::TestWithParam<Capacity> {};

TEST_P(CudaMatchesCpu, ActivationsAndEmbeddings) {
  if (!CudaAvailable()) GTEST_SKIP() << "no CUDA device in this process";
  const Capacity c = GetParam();
  auto cpu = Model::Load(test::WeightsPath(c), c, ModelOptions{"cpu"});
  auto gpu = Model::Load(test::WeightsPath(c), c, ModelOptions{"cuda"});
  ASSERT_TRUE(cpu.ok()) << cpu.status().ToString();
  ASSERT_TRUE(gpu.ok()) << gpu.status().ToString();
  const NpyArray all = test::LoadNpy(test::SharedPath("testdata/crepe-reference/frames-crepe.npy"));
  const std::vector<float> frames = test::EveryNthRow(all.data, kFrameLength, 4);
  const int64_t n = static_cast<int64_t>(frames.size()) / kFrameLength;
  const int width = (*cpu)->info().embedding_width;
  std::vector<float> a_cpu(n * kPitchBins), a_gpu(n * kPitchBins);
  std::vector<float> e_cpu(n * kEmbeddingRows * width), e_gpu(n * kEmbeddingRows * width);
  ASSERT_TRUE((*cpu)->Infer(frames.data(), n, a_cpu.data(), e_cpu.data()).ok());
  ASSERT_TRUE((*gpu)->Infer(frames.data(), n, a_gpu.data(), e_gpu.data()).ok());
  const auto [max_act, mean_act] = test::MaxMeanAbsDiff(a_cpu, a_gpu);
  EXPECT_LT(max_act, 1e-5);
  EXPECT_LT(mean_act, 1e-7);
  const auto [max_emb, mean_emb] = test::MaxMeanAbsDiff(e_cpu, e_gpu);
  EXPECT_LT(max_emb, 1e-3) << mean_emb;
}

INSTANTIATE_TEST_SUITE_P(AllCapacities, CudaMatchesCpu, ::testing::ValuesIn(kAllCapacities),
                         [](const auto& p) { return std::string(CapacityName(p.param)); });

TEST(Cuda, MissingDeviceIsAClearError) {
  if (CudaAvailable()) GTEST_SKIP() << "a CUDA device is present";
  auto m = Model::Load(test::WeightsPath(Capacity::kTiny), Capacity::kTiny, ModelOptions{"cuda"});
  EXPECT_EQ(m.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(m.status().message().find("no CUDA device"), std::string::npos);
}

}  // namespace
}  // namespace crepe
