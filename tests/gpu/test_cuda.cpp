// CUDA against CPU. Skipped cleanly where no CUDA device is present. Where an official weights file
// is missing (bench/gpu/run.sh carries only tiny and small to the GPU machine), the capacity is
// checked on synthetic weights: CUDA and CPU compute the same function of the same weights.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <thread>

#include "crepe/capacity.h"
#include "crepe/model.h"
#include "model/device_decode.h"
#include "support/fixtures.h"
#include "support/test_paths.h"
#include "support/viterbi_streams_check.h"

namespace crepe {
namespace {

CrepeWeights WeightsOf(Capacity c) {
  if (test::FileExists(test::WeightsPath(c))) {
    auto w = LoadKerasWeights(test::WeightsPath(c), c);
    if (w.ok()) return std::move(w).value();
  }
  return MakeSyntheticWeights(c, 3);
}

std::unique_ptr<Model> MakeModel(const CrepeWeights& w, const std::string& device,
                                 Precision precision = Precision::kFp32, bool graphs = true, int64_t pass_frames = 0) {
  ModelOptions o;
  o.device = device;
  o.precision = precision;
  o.cuda_graphs = graphs;
  o.pass_frames = pass_frames;
  auto m = Model::Create(w, o);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? std::move(m).value() : nullptr;
}

std::vector<float> Frames(int64_t* n) {
  const NpyArray all = test::LoadNpy(test::SharedPath("testdata/crepe-reference/frames-crepe.npy"));
  const std::vector<float> frames = test::EveryNthRow(all.data, kFrameLength, 4);
  *n = static_cast<int64_t>(frames.size()) / kFrameLength;
  return frames;
}

class CudaMatchesCpu : public ::testing::TestWithParam<Capacity> {};

TEST_P(CudaMatchesCpu, ActivationsAndEmbeddings) {
  if (!CudaAvailable()) GTEST_SKIP() << "no CUDA device in this process";
  const CrepeWeights w = WeightsOf(GetParam());
  auto cpu = MakeModel(w, "cpu");
  auto gpu = MakeModel(w, "cuda");
  ASSERT_TRUE(cpu && gpu);
  int64_t n = 0;
  const std::vector<float> frames = Frames(&n);
  const int width = cpu->info().embedding_width;
  std::vector<float> a_cpu(n * kPitchBins), a_gpu(n * kPitchBins, NAN);
  std::vector<float> e_cpu(n * kEmbeddingRows * width), e_gpu(n * kEmbeddingRows * width, NAN);
  ASSERT_TRUE(cpu->Infer(frames.data(), n, a_cpu.data(), e_cpu.data()).ok());
  ASSERT_TRUE(gpu->Infer(frames.data(), n, a_gpu.data(), e_gpu.data()).ok());
  const auto [max_act, mean_act] = test::MaxMeanAbsDiff(a_cpu, a_gpu);
  EXPECT_LT(max_act, 1e-5) << w.path;
  EXPECT_LT(mean_act, 1e-7) << w.path;
  const auto [max_emb, mean_emb] = test::MaxMeanAbsDiff(e_cpu, e_gpu);
  EXPECT_LT(max_emb, 1e-3) << mean_emb;
  EXPECT_TRUE(gpu->info().own_stream);
  EXPECT_GT(DeviceMemoryInUse("cuda").allocated_bytes, gpu->info().resident_bytes);
}

INSTANTIATE_TEST_SUITE_P(AllCapacities, CudaMatchesCpu, ::testing::ValuesIn(kAllCapacities),
                         [](const auto& p) { return std::string(CapacityName(p.param)); });

// Graph replay runs the very kernels of the eager pass: the same results.
TEST(CudaGraphs, ReplayEqualsEagerPasses) {
  if (!CudaAvailable()) GTEST_SKIP() << "no CUDA device in this process";
  const CrepeWeights w = WeightsOf(Capacity::kSmall);
  auto graphs = MakeModel(w, "cuda", Precision::kFp32, true);
  auto eager = MakeModel(w, "cuda", Precision::kFp32, false);
  ASSERT_TRUE(graphs && eager);
  EXPECT_FALSE(eager->info().cuda_graphs);
  if (!graphs->info().cuda_graphs) GTEST_SKIP() << "this build has no CUDA graph support (no CUDA toolkit headers)";
  int64_t n = 0;
  const std::vector<float> frames = Frames(&n);
  std::vector<float> a(n * kPitchBins), b(n * kPitchBins, NAN);
  ASSERT_TRUE(eager->Infer(frames.data(), n, a.data()).ok());
  ASSERT_TRUE(graphs->Infer(frames.data(), n, b.data()).ok());
  EXPECT_EQ(test::MaxMeanAbsDiff(a, b).first, 0.0);
}

// Two models driven from two threads at once (their own streams) give what each gives alone.
TEST(CudaStreams, ConcurrentModelsGiveTheirSoloResults) {
  if (!CudaAvailable()) GTEST_SKIP() << "no CUDA device in this process";
  auto tiny = MakeModel(WeightsOf(Capacity::kTiny), "cuda");
  auto full = MakeModel(WeightsOf(Capacity::kFull), "cuda");
  ASSERT_TRUE(tiny && full);
  int64_t n = 0;
  const std::vector<float> frames = Frames(&n);
  std::vector<float> solo_t(n * kPitchBins), solo_f(n * kPitchBins), both_t(n * kPitchBins), both_f(n * kPitchBins);
  ASSERT_TRUE(tiny->Infer(frames.data(), n, solo_t.data()).ok());
  ASSERT_TRUE(full->Infer(frames.data(), n, solo_f.data()).ok());
  std::thread a([&] {
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(tiny->Infer(frames.data(), n, both_t.data()).ok());
  });
  std::thread b([&] {
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(full->Infer(frames.data(), n, both_f.data()).ok());
  });
  a.join();
  b.join();
  EXPECT_EQ(solo_t, both_t);
  EXPECT_EQ(solo_f, both_f);
}

// Tiny's weights with the statistics of conv2's first 8 channels moved past float16's range, as
// medium's, large's and full's are there: variance x 1e4, gamma x 100, the same function.
CrepeWeights WithVariancesPastFloat16(CrepeWeights w) {
  ConvBlockWeights& b = w.conv[1];
  for (size_t c = 0; c < 8; ++c) {
    b.moving_variance.data[c] *= 1e4f;
    b.gamma.data[c] *= 100.0f;
  }
  return w;
}

// Reduced precisions run on the device and stay near the CPU's fp32, also where BatchNorm's moving
// variances pass float16's range.
TEST(CudaPrecision, ReducedPrecisionsStayNearFp32) {
  if (!CudaAvailable()) GTEST_SKIP() << "no CUDA device in this process";
  const CrepeWeights official = WeightsOf(Capacity::kTiny);
  const CrepeWeights past_float16 = WithVariancesPastFloat16(official);
  for (const CrepeWeights* weights : {&official, &past_float16}) {
    const CrepeWeights& w = *weights;
    const bool scaled = weights == &past_float16;
    auto cpu = MakeModel(w, "cpu");
    ASSERT_TRUE(cpu);
    int64_t n = 0;
    const std::vector<float> frames = Frames(&n);
    std::vector<float> ref(n * kPitchBins);
    ASSERT_TRUE(cpu->Infer(frames.data(), n, ref.data()).ok());
    for (Precision p : {Precision::kTf32, Precision::kBf16, Precision::kFp16}) {
      auto m = MakeModel(w, "cuda", p);
      ASSERT_TRUE(m);
      std::vector<float> act(ref.size(), NAN);
      ASSERT_TRUE(m->Infer(frames.data(), n, act.data()).ok());
      const auto [max_diff, mean_diff] = test::MaxMeanAbsDiff(act, ref);
      // On the CPU (128 frames, official weights): bf16 mean 6.6e-5, fp16 8.2e-6.
      EXPECT_LT(mean_diff, p == Precision::kFp16 ? 1e-4 : 1e-3)
          << PrecisionName(p) << (scaled ? " (variances past float16)" : "") << " max " << max_diff;
    }
  }
}

// Whole clips on the device equal whole clips on the CPU (same code, same weights).
TEST(CudaPipeline, PredictClipsEqualsTheCpu) {
  if (!CudaAvailable()) GTEST_SKIP() << "no CUDA device in this process";
  const CrepeWeights w = WeightsOf(Capacity::kTiny);
  auto cpu = MakeModel(w, "cpu");
  auto gpu = MakeModel(w, "cuda");
  ASSERT_TRUE(cpu && gpu);
  std::vector<float> audio(16000 * 4);
  for (size_t i = 0; i < audio.size(); ++i)
    audio[i] = static_cast<float>(0.3 * std::sin(0.05 * static_cast<double>(i) * (1 + i / 64000.0)));
  const FrameGrid grid =
      *FrameGrid::Make(static_cast<int64_t>(audio.size()), kSampleRate, HopSpec::Milliseconds(10), true);
  std::vector<ClipRequest> clips;
  for (Decoder d : {Decoder::kViterbi, Decoder::kViterbiConfidence, Decoder::kWeightedArgmax, Decoder::kArgmax}) {
    clips.push_back({audio.data(), static_cast<int64_t>(audio.size()), &grid, d, BinRange{}, true, false});
  }
  std::vector<ClipResult> on_cpu, on_gpu;
  ASSERT_TRUE(cpu->PredictClips(clips, &on_cpu).ok());
  ASSERT_TRUE(gpu->PredictClips(clips, &on_gpu).ok());
  for (size_t k = 0; k < clips.size(); ++k) {
    // The devices' float sums differ in order: a rare frame may tip to a neighbouring bin.
    ASSERT_EQ(on_cpu[k].pitch.bins.size(), on_gpu[k].pitch.bins.size());
    size_t same = 0;
    for (size_t t = 0; t < on_cpu[k].pitch.bins.size(); ++t) same += on_cpu[k].pitch.bins[t] == on_gpu[k].pitch.bins[t];
    EXPECT_GE(same, on_cpu[k].pitch.bins.size() * 99 / 100) << DecoderName(clips[k].decoder);
    EXPECT_LT(test::MaxMeanAbsDiff(on_cpu[k].activations, on_gpu[k].activations).first, 1e-5);
  }
}

// Frame summaries computed on the GPU (the server's default there) equal the host's summaries of
// the GPU's own activations bit for bit, with a range per frame, in passes with and without
// activations coming back, over several passes (the host buffers are reused from pass to pass).
TEST(CudaPipeline, SummariesEqualTheHostsOfTheSameActivations) {
  if (!CudaAvailable()) GTEST_SKIP() << "no CUDA device in this process";
  auto gpu = MakeModel(WeightsOf(Capacity::kTiny), "cuda", Precision::kFp32, true, /*pass_frames=*/64);
  ASSERT_TRUE(gpu);
  int64_t n = 0;
  const std::vector<float> frames = Frames(&n);
  std::vector<BinRange> ranges(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) ranges[i] = i % 2 == 0 ? BinRange{} : BinRange{static_cast<int>(i % 150), 250};
  std::vector<float> act(static_cast<size_t>(n) * kPitchBins);
  std::vector<FrameSummary> with(ranges.size()), without(ranges.size());
  const SummaryRequest ask_with{ranges.data(), with.data()}, ask_without{ranges.data(), without.data()};
  ASSERT_TRUE(gpu->Infer(frames.data(), n, act.data(), nullptr, &ask_with).ok());
  ASSERT_TRUE(gpu->Infer(frames.data(), n, nullptr, nullptr, &ask_without).ok());
  for (int64_t i = 0; i < n; ++i) {
    const FrameSummary want = SummarizeFrame(act.data() + i * kPitchBins, ranges[i]);
    for (const FrameSummary* got : {&with[i], &without[i]}) {
      ASSERT_EQ(got->bin, want.bin) << "frame " << i;
      ASSERT_EQ(got->bin_activation, want.bin_activation) << "frame " << i;
      ASSERT_EQ(got->confidence, want.confidence) << "frame " << i;
      ASSERT_TRUE(got->local_average_cents == want.local_average_cents ||
                  (std::isnan(got->local_average_cents) && std::isnan(want.local_average_cents)))
          << "frame " << i << ": " << got->local_average_cents << " vs " << want.local_average_cents;
    }
  }
}

// The batched Viterbi decoder on the device against hmmlearn, ties included.
TEST(CudaViterbi, EqualsHmmlearnOnEveryFixture) {
  if (!CudaAvailable()) GTEST_SKIP() << "no CUDA device in this process";
  int cases = 0;
  for (const auto& entry : std::filesystem::directory_iterator(test::SourcePath("tests/fixtures/viterbi"))) {
    if (entry.path().extension() != ".csv") continue;
    const test::CsvTable t = test::ReadCsv(entry.path().string());
    const std::vector<int64_t> obs(t.Column("obs").begin(), t.Column("obs").end());
    const auto n = static_cast<int64_t>(obs.size());
    const ViterbiEmission e = ViterbiEmissionFor(false, 1.0f);
    const auto f64 = torch::TensorOptions().dtype(torch::kFloat64).device(torch::kCUDA);
    const torch::Tensor path =
        ViterbiPaths(torch::tensor(obs, torch::kInt64).reshape({1, n}).cuda(), torch::full({1, n}, e.hit, f64),
                     torch::full({1, n}, e.miss, f64), {n}, BinRange{})
            .cpu();
    int mismatches = 0;
    for (int64_t i = 0; i < n; ++i)
      mismatches += path[0][i].item<int64_t>() != static_cast<int64_t>(t.Column("path")[i]);
    EXPECT_EQ(mismatches, 0) << entry.path().filename();
    ++cases;
  }
  EXPECT_GE(cases, 10);
}

// crepe-server's Viterbi on the device (ViterbiStreams): streams in random parts, interleaved in
// batches, equal the CPU decoder bit for bit.
TEST(CudaViterbi, StreamsEqualTheCpuDecoder) {
  if (!CudaAvailable()) GTEST_SKIP() << "no CUDA device in this process";
  test::ExpectStreamsEqualTheCpuDecoder(torch::Device(torch::kCUDA));  // the fused kernels, where built
  test::ExpectStreamsEqualTheCpuDecoder(torch::Device(torch::kCUDA), ViterbiImpl::kTensorOps);
  const Status check = CheckDeviceViterbi("cuda");
  EXPECT_TRUE(check.ok()) << check.ToString();
}

TEST(Cuda, MissingDeviceIsAClearError) {
  if (CudaAvailable()) GTEST_SKIP() << "a CUDA device is present";
  auto m = Model::Load(test::WeightsPath(Capacity::kTiny), Capacity::kTiny, ModelOptions{"cuda"});
  EXPECT_EQ(m.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(m.status().message().find("no CUDA device"), std::string::npos);
}

}  // namespace
}  // namespace crepe
