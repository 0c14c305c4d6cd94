// Audio in, pitch out, against the original pipeline's documented steps (tools/goldens made the
// references with resampy, the Keras network and the original decoders).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <ostream>
#include <regex>

#include "crepe/audio.h"
#include "crepe/decode.h"
#include "crepe/predictor.h"
#include "model_fixture.h"
#include "support/fixtures.h"
#include "support/test_paths.h"

namespace crepe {
namespace {

struct Case {
  std::string fixture;
  std::string clip;
  Capacity capacity;
  Decoder decoder;
};

// gtest prints a parameter in the test's description; the fixture's name says it all.
void PrintTo(const Case& c, std::ostream* os) { *os << std::filesystem::path(c.fixture).filename().string(); }

std::vector<Case> Cases() {
  std::vector<Case> cases;
  static const std::regex kName(R"((test|sweep)-(tiny|small|medium|large|full)-(weighted_argmax|viterbi)\.f0\.csv)");
  for (const auto& e : std::filesystem::directory_iterator(test::SourcePath("tests/fixtures/e2e"))) {
    std::smatch m;
    const std::string name = e.path().filename().string();
    if (!std::regex_match(name, m, kName)) continue;
    cases.push_back({e.path().string(), m[1].str(), *ParseCapacity(m[2].str()), *ParseDecoder(m[3].str())});
  }
  std::sort(cases.begin(), cases.end(), [](const Case& a, const Case& b) { return a.fixture < b.fixture; });
  return cases;
}

class EndToEnd : public ::testing::TestWithParam<Case> {};

// Share of confident reference frames (confidence > 0.5) our pitch matches within 10 cents.
double ShareWithinTenCents(const Case& c, ResamplerKind resampler) {
  Model* model = test::CpuModel(c.capacity);
  if (model == nullptr) return 0;
  auto audio = ReadAudioFile(test::SharedPath("testdata/crepe-reference/" + c.clip + ".wav"));
  EXPECT_TRUE(audio.ok()) << audio.status().ToString();
  if (!audio.ok()) return 0;
  PredictOptions options;
  options.decoder = c.decoder;
  options.resampler = resampler;
  Predictor predictor(*model);
  auto p = predictor.Predict(*audio, options);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  if (!p.ok()) return 0;

  const test::CsvTable ref = test::ReadCsv(c.fixture);
  const auto& time = ref.Column("time");
  const auto& freq = ref.Column("frequency");
  const auto& conf = ref.Column("confidence");
  EXPECT_EQ(static_cast<size_t>(p->frames()), time.size());
  if (static_cast<size_t>(p->frames()) != time.size()) return 0;
  int confident = 0, within = 0;
  double worst = 0;
  for (size_t t = 0; t < time.size(); ++t) {
    EXPECT_NEAR(p->time[t], time[t], 1e-9);
    if (conf[t] <= 0.5) continue;
    ++confident;
    const double cents = std::abs(HzToCents(p->frequency[t]) - HzToCents(freq[t]));
    within += cents <= 10.0;
    worst = std::max(worst, cents);
  }
  EXPECT_GT(confident, 50);
  const double share = confident > 0 ? static_cast<double>(within) / confident : 0;
  std::printf(
      "[ figures  ] %s (%s): %d of %d confident frames within 10 cents (%.2f%%), largest difference %.3g cents\n",
      std::filesystem::path(c.fixture).filename().c_str(), ResamplerName(resampler).data(), within, confident,
      100 * share, worst);
  return share;
}

TEST_P(EndToEnd, PitchWithinTenCentsOnConfidentFrames) {
  EXPECT_GE(ShareWithinTenCents(GetParam(), ResamplerKind::kKaiserBest), 0.99);
}

// The original pipeline's documented steps, resampling aside: libsoxr instead of resampy.
TEST(EndToEndSoxr, TinyOnTestWavWithinTenCents) {
  for (Decoder d : {Decoder::kWeightedArgmax, Decoder::kViterbi}) {
    const Case c{test::SourcePath("tests/fixtures/e2e/test-tiny-" + std::string(DecoderName(d)) + ".f0.csv"), "test",
                 Capacity::kTiny, d};
    EXPECT_GE(ShareWithinTenCents(c, ResamplerKind::kSoxrVhq), 0.99) << DecoderName(d);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, EndToEnd, ::testing::ValuesIn(Cases()), [](const auto& p) {
  return p.param.clip + "_" + std::string(CapacityName(p.param.capacity)) + "_" +
         std::string(DecoderName(p.param.decoder));
});

}  // namespace
}  // namespace crepe
