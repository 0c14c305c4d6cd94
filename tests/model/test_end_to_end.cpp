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

TEST_P(EndToEnd, PitchWithinTenCentsOnConfidentFrames) {
  const Case& c = GetParam();
  Model* model = test::CpuModel(c.capacity);
  ASSERT_NE(model, nullptr);
  auto audio = ReadAudioFile(test::SharedPath("testdata/crepe-reference/" + c.clip + ".wav"));
  ASSERT_TRUE(audio.ok()) << audio.status().ToString();
  PredictOptions options;
  options.decoder = c.decoder;
  Predictor predictor(*model);
  auto p = predictor.Predict(*audio, options);
  ASSERT_TRUE(p.ok()) << p.status().ToString();

  const test::CsvTable ref = test::ReadCsv(c.fixture);
  const auto& time = ref.Column("time");
  const auto& freq = ref.Column("frequency");
  const auto& conf = ref.Column("confidence");
  ASSERT_EQ(static_cast<size_t>(p->frames()), time.size());
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
  ASSERT_GT(confident, 50);
  const double share = static_cast<double>(within) / confident;
  std::printf("[ figures  ] %s: %d of %d confident frames within 10 cents (%.2f%%), largest difference %.3g cents\n",
              std::filesystem::path(c.fixture).filename().c_str(), within, confident, 100 * share, worst);
  EXPECT_GE(share, 0.99) << within << " of " << confident << " confident frames within 10 cents";
}

INSTANTIATE_TEST_SUITE_P(Fixtures, EndToEnd, ::testing::ValuesIn(Cases()), [](const auto& p) {
  return p.param.clip + "_" + std::string(CapacityName(p.param.capacity)) + "_" +
         std::string(DecoderName(p.param.decoder));
});

}  // namespace
}  // namespace crepe
