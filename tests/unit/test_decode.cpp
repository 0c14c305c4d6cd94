#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "crepe/capacity.h"
#include "crepe/decode.h"
#include "support/fixtures.h"
#include "support/test_paths.h"

namespace crepe {
namespace {

TEST(PitchBins, MatchTheOriginalMapping) {
  EXPECT_NEAR(BinToHz(0), 31.700, 5e-4);
  EXPECT_NEAR(BinToHz(39), 49.743, 5e-4);
  EXPECT_NEAR(BinToHz(40), 50.321, 5e-4);
  EXPECT_NEAR(BinToHz(359), 2005.497, 5e-4);
  EXPECT_NEAR(HzToCents(CentsToHz(3000.0)), 3000.0, 1e-9);
}

TEST(BinRange, DefaultsAllowEveryBinAndLimitsSelectBinsInside) {
  auto all = BinRangeFor(0, INFINITY);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->lo, 0);
  EXPECT_EQ(all->hi, 359);
  auto r = BinRangeFor(50, 550);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->lo, 40);  // 49.74 Hz (bin 39) is below 50 Hz
  EXPECT_GE(BinToHz(r->lo), 50.0);
  EXPECT_LE(BinToHz(r->hi), 550.0);
  EXPECT_GT(BinToHz(r->hi + 1), 550.0);
}

TEST(BinRange, RejectsInvalidLimits) {
  EXPECT_EQ(BinRangeFor(500, 100).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(BinRangeFor(-1, 100).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(BinRangeFor(NAN, 100).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(BinRangeFor(3000, 4000).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(BinRangeFor(10, 20).status().code(), StatusCode::kInvalidArgument);
}

TEST(Decoders, ParseNames) {
  EXPECT_EQ(*ParseDecoder("viterbi"), Decoder::kViterbi);
  EXPECT_EQ(*ParseDecoder("weighted_argmax"), Decoder::kWeightedArgmax);
  EXPECT_EQ(*ParseDecoder("argmax"), Decoder::kArgmax);
  EXPECT_EQ(*ParseDecoder("viterbi_confidence"), Decoder::kViterbiConfidence);
  EXPECT_EQ(DecoderName(Decoder::kViterbiConfidence), "viterbi_confidence");
  EXPECT_TRUE(IsViterbi(Decoder::kViterbiConfidence));
  EXPECT_FALSE(IsViterbi(Decoder::kWeightedArgmax));
  EXPECT_EQ(ParseDecoder("beam").status().code(), StatusCode::kInvalidArgument);
}

// A frame whose activation is a peak at `bin` with symmetric neighbours.
std::vector<float> PeakRow(int bin, float peak = 0.9f) {
  std::vector<float> row(kPitchBins, 0.01f);
  row[bin] = peak;
  if (bin > 0) row[bin - 1] = 0.3f;
  if (bin < kPitchBins - 1) row[bin + 1] = 0.3f;
  return row;
}

TEST(Decoders, LocalAverageOfASymmetricPeakIsTheBinCentre) {
  auto row = PeakRow(200);
  // The weight sum is a float32 sum, as the original's np.sum: exact to about 1e-3 cents.
  EXPECT_NEAR(LocalAverageCents(row.data(), 200, BinRange{}), BinToCents(200), 1e-3);
  auto d = DecodeActivations(row.data(), 1, Decoder::kWeightedArgmax, BinRange{});
  ASSERT_TRUE(d.ok());
  EXPECT_NEAR(d->frequency[0], BinToHz(200), 1e-3);
  EXPECT_FLOAT_EQ(d->confidence[0], 0.9f);
  EXPECT_FLOAT_EQ(d->periodicity[0], 0.9f);
}

TEST(Decoders, AllZeroFrameHasNoFrequency) {
  std::vector<float> row(kPitchBins, 0.0f);
  auto d = DecodeActivations(row.data(), 1, Decoder::kWeightedArgmax, BinRange{});
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(std::isnan(d->frequency[0]));
}

TEST(Decoders, RangeLimitsTheChoiceButNotTheConfidence) {
  auto row = PeakRow(300);  // ~1100 Hz
  row[100] = 0.5f;          // ~100 Hz
  auto range = BinRangeFor(50, 550);
  ASSERT_TRUE(range.ok());
  auto d = DecodeActivations(row.data(), 1, Decoder::kArgmax, *range);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->bins[0], 100);
  EXPECT_FLOAT_EQ(d->confidence[0], 0.9f);   // the original's max over all bins
  EXPECT_FLOAT_EQ(d->periodicity[0], 0.5f);  // activation at the decoded bin
}

// The hmmlearn fixtures (tests/fixtures/viterbi, made by tools/goldens/generate.py), by file name.
std::vector<std::pair<std::string, test::CsvTable>> ViterbiFixtures() {
  std::vector<std::pair<std::string, test::CsvTable>> out;
  for (const auto& entry : std::filesystem::directory_iterator(test::SourcePath("tests/fixtures/viterbi"))) {
    if (entry.path().extension() == ".csv")
      out.emplace_back(entry.path().filename().string(), test::ReadCsv(entry.path().string()));
  }
  return out;
}

// Viterbi paths against hmmlearn's CategoricalHMM.decode, as the original calls it
// (tests/fixtures/viterbi, made by tools/goldens/generate.py): equal on every frame, ties included.
TEST(Viterbi, EqualsHmmlearnOnEveryFixture) {
  const auto dir = test::SourcePath("tests/fixtures/viterbi");
  int cases = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".csv") continue;
    const test::CsvTable t = test::ReadCsv(entry.path().string());
    const auto& obs = t.Column("obs");
    const auto& expected = t.Column("path");
    auto v = ViterbiDecoder::Make(BinRange{});
    ASSERT_TRUE(v.ok());
    for (double o : obs) ASSERT_TRUE(v->Push(static_cast<int>(o)).ok());
    const std::vector<int> path = *v->Finish();
    ASSERT_EQ(path.size(), expected.size()) << entry.path();
    int mismatches = 0;
    for (size_t i = 0; i < path.size(); ++i) mismatches += path[i] != static_cast<int>(expected[i]);
    EXPECT_EQ(mismatches, 0) << entry.path().filename() << ": " << mismatches << " of " << path.size()
                             << " states differ";
    ++cases;
  }
  EXPECT_GE(cases, 10);
}

// Taking the decided part of the path as frames arrive (a stream) and finishing gives exactly the
// path decoded at once, on every hmmlearn fixture; and most of it is decided before the end.
TEST(Viterbi, IncrementalDecidedPartsEqualTheWholePath) {
  const auto dir = test::SourcePath("tests/fixtures/viterbi");
  int cases = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".csv") continue;
    const test::CsvTable table = test::ReadCsv(entry.path().string());
    const auto& obs = table.Column("obs");
    auto whole = ViterbiDecoder::Make(BinRange{});
    auto incremental = ViterbiDecoder::Make(BinRange{});
    ASSERT_TRUE(whole.ok() && incremental.ok());
    std::vector<int> path;
    for (size_t i = 0; i < obs.size(); ++i) {
      ASSERT_TRUE(whole->Push(static_cast<int>(obs[i])).ok());
      ASSERT_TRUE(incremental->Push(static_cast<int>(obs[i])).ok());
      if (i % 7 == 3) {
        const std::vector<int> part = *incremental->TakeDecided();
        path.insert(path.end(), part.begin(), part.end());
        EXPECT_EQ(incremental->decided(), static_cast<int64_t>(path.size()));
      }
    }
    const size_t before_end = path.size();
    const std::vector<int> rest = *incremental->Finish();
    path.insert(path.end(), rest.begin(), rest.end());
    EXPECT_EQ(path, *whole->Finish()) << entry.path().filename();
    if (obs.size() > 200) {
      EXPECT_GT(before_end, obs.size() / 2) << entry.path().filename();
    }
    ++cases;
  }
  EXPECT_GE(cases, 10);
}

TEST(Viterbi, FollowsASmoothTrackAndBridgesAnOutlier) {
  std::vector<float> acts;
  std::vector<int> truth;
  for (int t = 0; t < 50; ++t) {
    const int bin = t == 25 ? 300 : 100 + t / 5;  // one octave-jump outlier
    auto row = PeakRow(bin);
    acts.insert(acts.end(), row.begin(), row.end());
    truth.push_back(100 + t / 5);
  }
  auto d = DecodeActivations(acts.data(), 50, Decoder::kViterbi, BinRange{});
  ASSERT_TRUE(d.ok());
  for (int t = 0; t < 50; ++t) EXPECT_NEAR(d->bins[t], truth[t], 1) << t;
}

// With every observation at full activation, the weighted HMM is the original's, on every
// hmmlearn fixture.
TEST(ViterbiConfidence, AtFullActivationEqualsTheOriginal) {
  const auto fixtures = ViterbiFixtures();
  for (const auto& [name, table] : fixtures) {
    auto original = ViterbiDecoder::Make(BinRange{});
    auto weighted = ViterbiDecoder::Make(BinRange{}, true);
    ASSERT_TRUE(original.ok() && weighted.ok());
    for (double o : table.Column("obs")) {
      ASSERT_TRUE(original->Push(static_cast<int>(o)).ok());
      ASSERT_TRUE(weighted->Push(static_cast<int>(o), 1.0f).ok());
    }
    EXPECT_EQ(*weighted->Finish(), *original->Finish()) << name;
  }
  EXPECT_GE(fixtures.size(), 10u);
}

// Silence (a weak peak at the top bin, as CREPE gives for an all-zero frame), then a note two
// octaves below. The original's path sits at the top through the silence and then needs many
// frames to come down (it moves at most 11 bins a frame); weighted, the weak observations in the
// silence hold nothing, so the path is at the note from its first frame.
TEST(ViterbiConfidence, IsAtTheNoteFromItsOnsetAfterSilence) {
  std::vector<float> acts;
  for (int t = 0; t < 40; ++t) {
    auto row = t < 20 ? PeakRow(350, 0.014f) : PeakRow(150);
    if (t < 20) row[349] = row[351] = 0.005f;
    acts.insert(acts.end(), row.begin(), row.end());
  }
  auto original = DecodeActivations(acts.data(), 40, Decoder::kViterbi, BinRange{});
  auto weighted = DecodeActivations(acts.data(), 40, Decoder::kViterbiConfidence, BinRange{});
  ASSERT_TRUE(original.ok() && weighted.ok());
  int late_original = 0;
  for (int t = 20; t < 40; ++t) {
    late_original += original->bins[t] != 150;
    EXPECT_EQ(weighted->bins[t], 150) << t;
  }
  EXPECT_GE(late_original, 5);
  // The other outputs are decoded at the chosen bins as for the original's Viterbi.
  EXPECT_EQ(weighted->confidence, original->confidence);
}

TEST(Viterbi, EmptyInput) {
  auto v = ViterbiDecoder::Make(BinRange{});
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->Finish()->empty());
  EXPECT_EQ(ViterbiDecoder::Make(BinRange{10, 5}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ViterbiDecoder::Make(BinRange{0, 360}).status().code(), StatusCode::kInvalidArgument);
}

TEST(Viterbi, RestrictedRangeKeepsThePathAndTheAverageInside) {
  // A track that wanders above fmax: the decoded bins and frequencies stay in range.
  auto range = BinRangeFor(100, 400);
  ASSERT_TRUE(range.ok());
  std::vector<float> acts;
  for (int t = 0; t < 40; ++t) {
    auto row = PeakRow(range->hi - 10 + t);  // climbs past range.hi
    acts.insert(acts.end(), row.begin(), row.end());
  }
  for (Decoder decoder : {Decoder::kViterbi, Decoder::kWeightedArgmax, Decoder::kArgmax}) {
    auto d = DecodeActivations(acts.data(), 40, decoder, *range);
    ASSERT_TRUE(d.ok());
    for (int t = 0; t < 40; ++t) {
      EXPECT_GE(d->bins[t], range->lo);
      EXPECT_LE(d->bins[t], range->hi);
      EXPECT_LE(d->frequency[t], BinToHz(range->hi) + 1e-3) << DecoderName(decoder) << " frame " << t;
      EXPECT_GE(d->frequency[t], BinToHz(range->lo) - 1e-3);
    }
  }
  // On a restricted range the local average only uses bins inside it.
  auto row = PeakRow(range->hi);
  EXPECT_LT(LocalAverageCents(row.data(), range->hi, *range), BinToCents(range->hi));
}

}  // namespace
}  // namespace crepe
