// The wire options' defaults: what a request that leaves things out gets from the service.
#include <gtest/gtest.h>

#include "request_codec.h"

namespace crepe::rpc {
namespace {

v1::PredictOptions Tiny() {
  v1::PredictOptions o;
  o.set_model(v1::CAPACITY_TINY);
  return o;
}

TEST(RequestCodec, AnUnsetDecoderAndNoPostMessageGetTheServiceDefaults) {
  auto r = DecodeOptions(Tiny());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->options.decoder, Decoder::kViterbiConfidence);
  EXPECT_EQ(r->options.post.periodicity_median_window, 3);
  ASSERT_TRUE(r->options.post.threshold.has_value());
  EXPECT_EQ(*r->options.post.threshold, 0.5f);
  EXPECT_FALSE(r->options.post.silence_db.has_value());
  EXPECT_FALSE(r->options.post.hysteresis.has_value());
  EXPECT_EQ(r->options.post.pitch_mean_window, 0);
}

TEST(RequestCodec, AnEmptyPostMessageMeansNoPostProcessing) {
  v1::PredictOptions o = Tiny();
  o.mutable_post();
  o.set_decoder(v1::DECODER_WEIGHTED_ARGMAX);
  auto r = DecodeOptions(o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->options.decoder, Decoder::kWeightedArgmax);
  EXPECT_EQ(r->options.post.periodicity_median_window, 0);
  EXPECT_FALSE(r->options.post.threshold.has_value());
  o.set_decoder(v1::DECODER_VITERBI_CONFIDENCE);
  EXPECT_EQ(DecodeOptions(o)->options.decoder, Decoder::kViterbiConfidence);
}

}  // namespace
}  // namespace crepe::rpc
