// ViterbiStreams (src/model/viterbi_streams.h), the server's Viterbi where the activations are,
// run on the CPU (the same tensor code runs on the GPU): streams cut into parts of random sizes,
// interleaved in batches, decode exactly as the CPU decoder over each whole stream, ties included.
#include <gtest/gtest.h>

#include "crepe/capacity.h"
#include "crepe/decode.h"
#include "crepe/model.h"
#include "model/viterbi_streams.h"
#include "support/viterbi_streams_check.h"

namespace crepe {
namespace {

using test::OneHotRows;

// On the CPU, the host loop that shares its per-state arithmetic with the CUDA kernels
// (viterbi_step.h), and the tensor operations a GPU runs where the kernels are not built.
TEST(ViterbiStreams, EqualTheCpuDecoderHoweverTheFramesAreBatched) {
  test::ExpectStreamsEqualTheCpuDecoder(torch::kCPU, ViterbiImpl::kAuto);
  test::ExpectStreamsEqualTheCpuDecoder(torch::kCPU, ViterbiImpl::kTensorOps);
}

// The check a server runs before it leaves Viterbi to a device passes on the CPU (host loop and
// tensor operations alike) and names an unknown device.
TEST(ViterbiStreams, TheDeviceCheckPassesOnTheCpu) {
  EXPECT_TRUE(CheckViterbiStreams(torch::kCPU).ok());
  const Status s = CheckDeviceViterbi("cpu");
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(CheckDeviceViterbi("tpu").code(), StatusCode::kInvalidArgument);
}

// Parts that do not follow on from their stream are refused; abandoned streams are forgotten.
TEST(ViterbiStreams, RefuseMisuse) {
  ViterbiStreams viterbi(torch::kCPU);
  std::vector<float> rows = OneHotRows({100, 101});
  const std::vector<FrameSummary> summaries = {SummarizeFrame(rows.data(), BinRange{}),
                                               SummarizeFrame(rows.data() + kPitchBins, BinRange{})};
  const torch::Tensor activations = torch::from_blob(rows.data(), {2, kPitchBins}, torch::kFloat32);
  const auto part = [](uint64_t stream, int64_t frame, int64_t row, int64_t count, bool last) {
    return ViterbiPart{stream, Decoder::kViterbi, BinRange{}, frame, row, count, last};
  };
  const auto advance = [&](const std::vector<ViterbiPart>& parts) {
    return viterbi.Advance(activations, summaries.data(), parts);
  };
  EXPECT_EQ(advance({part(1, 5, 0, 2, false)}).status().code(), StatusCode::kInternal);  // not from frame 0
  EXPECT_EQ(advance({part(1, 0, 1, 2, false)}).status().code(), StatusCode::kInternal);  // past the batch
  ViterbiPart argmax = part(1, 0, 0, 1, false);
  argmax.decoder = Decoder::kArgmax;
  EXPECT_EQ(advance({argmax}).status().code(), StatusCode::kInternal);
  EXPECT_FALSE(viterbi.IsOpen(1));
  ASSERT_TRUE(advance({part(1, 0, 0, 1, false)}).ok());
  EXPECT_TRUE(viterbi.IsOpen(1));
  EXPECT_GT(viterbi.held_bytes(1), kPitchBins * 4);
  EXPECT_EQ(advance({part(1, 0, 0, 1, false)}).status().code(), StatusCode::kInternal);  // frame 0 again
  viterbi.Forget({1, 99});
  EXPECT_FALSE(viterbi.IsOpen(1));
  EXPECT_EQ(viterbi.held_bytes(1), 0);
  // A stream after its last part is gone: its next part would have to start again at frame 0.
  EXPECT_EQ(advance({part(2, 0, 0, 1, true), part(2, 1, 1, 1, false)}).status().code(), StatusCode::kInternal);
  auto decided = advance({part(3, 0, 0, 2, true)});
  ASSERT_TRUE(decided.ok());
  ASSERT_EQ((*decided)[0].size(), 2u);
  EXPECT_EQ((*decided)[0][0].bin, 100);
  EXPECT_EQ((*decided)[0][1].bin, 101);
  // A clip without frames: its stream opens and closes in a part of none.
  decided = advance({part(4, 0, 0, 0, true)});
  ASSERT_TRUE(decided.ok());
  EXPECT_TRUE((*decided)[0].empty());
  EXPECT_EQ(viterbi.open_streams(), 0u);
}

}  // namespace
}  // namespace crepe
