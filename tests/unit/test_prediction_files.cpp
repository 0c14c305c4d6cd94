#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "crepe/prediction.h"
#include "support/test_paths.h"

namespace crepe {
namespace {
namespace fs = std::filesystem;

Prediction ThreeFrames() {
  Prediction p;
  p.time = {0.0, 0.01, 0.02};
  p.frequency = {100.0f, NAN, 300.0f};
  p.confidence = {0.9f, 0.1f, 0.8f};
  p.periodicity = {0.9f, 0.1f, 0.8f};
  p.activations.assign(3 * 360, 0.5f);
  return p;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(PredictionFiles, WritesTheSelectedFiles) {
  const std::string dir = test::MakeTempDir("outputs");
  OutputSelection sel;
  sel.activations = true;
  sel.periodicity = true;
  ASSERT_TRUE(WritePredictionFiles(ThreeFrames(), dir + "/sub/clip", sel).ok());
  EXPECT_EQ(Slurp(dir + "/sub/clip.f0.csv"),
            "time,frequency,confidence\n0.000,100.000,0.900000\n0.010,0.000,0.100000\n0.020,300.000,0.800000\n");
  EXPECT_TRUE(fs::exists(dir + "/sub/clip.activation.npy"));
  EXPECT_TRUE(fs::exists(dir + "/sub/clip.periodicity.csv"));
  EXPECT_FALSE(fs::exists(dir + "/sub/clip.embedding.npy"));
  fs::remove_all(dir);
}

TEST(PredictionFiles, AFailureLeavesEarlierOutputsUntouched) {
  const std::string dir = test::MakeTempDir("outputs");
  ASSERT_TRUE(WritePredictionFiles(ThreeFrames(), dir + "/clip", OutputSelection{}).ok());
  const std::string before = Slurp(dir + "/clip.f0.csv");
  // Asking for embeddings that were not computed fails before anything is written.
  Prediction changed = ThreeFrames();
  changed.frequency[0] = 150.0f;
  changed.embedding_width = 8;  // but no embeddings
  OutputSelection sel;
  sel.embeddings = true;
  EXPECT_EQ(WritePredictionFiles(changed, dir + "/clip", sel).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Slurp(dir + "/clip.f0.csv"), before);
  // A directory where the activations file should go: the group fails, the old f0.csv stays.
  fs::create_directories(dir + "/clip.activation.npy/blocker");
  sel = {};
  sel.activations = true;
  EXPECT_FALSE(WritePredictionFiles(changed, dir + "/clip", sel).ok());
  EXPECT_EQ(Slurp(dir + "/clip.f0.csv"), before);
  for (const auto& e : fs::directory_iterator(dir)) {
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace crepe
