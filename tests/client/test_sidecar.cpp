// The sidecar that marks an input done: written with Protobuf's JSON support, and recognised
// whoever wrote it, as long as it records equal settings (compared as parsed values, so the
// spelling of numbers and the order of keys cannot make equal settings differ).
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "analysis_options.h"
#include "sidecar.h"
#include "support/test_paths.h"

namespace crepe::client {
namespace {
namespace fs = std::filesystem;

cli::AnalysisOptions Options(const std::string& command_line) {
  CLI::App app;
  cli::AnalysisFlags flags;
  flags.AddTo(app);
  app.parse(command_line, false);
  return flags.Apply();
}

// Sidecars as crepe-client wrote them before they were Protobuf messages (its own JSON writer:
// two-space indents, null for unset options, floats in their shortest form).
constexpr const char* kOldThreshold = R"({
  "format": "crepe-client/1",
  "input": "/in/x.wav",
  "settings": {
    "model": "tiny",
    "hop": {
      "unit": "ms",
      "value": 10
    },
    "center": true,
    "decoder": "weighted_argmax",
    "fmin_hz": 0,
    "fmax_hz": 1000,
    "resampler": "kaiser_best",
    "silence_db": -60.1,
    "silence_reference_db": 0.1,
    "periodicity_median_window": 3,
    "threshold": 0.3,
    "hysteresis": null,
    "pitch_mean_window": 0,
    "outputs": {
      "activations": false,
      "embeddings": false,
      "periodicity": false
    }
  },
  "model": {
    "name": "tiny",
    "weights_sha256": "abc",
    "device": "cpu"
  },
  "server": "127.0.0.1:1",
  "request_id": "x",
  "frames": 1001,
  "audio_seconds": 10,
  "outputs": [
    "x.f0.csv"
  ]
}
)";
constexpr const char* kThresholdArgs =
    "-m tiny --threshold 0.3 --silence-db -60.1 --silence-reference-db 0.1 --fmax 1000 --median-filter 3";

constexpr const char* kOldHysteresis = R"({
  "format": "crepe-client/1",
  "input": "/in/x.wav",
  "settings": {
    "model": "tiny",
    "hop": {
      "unit": "ms",
      "value": 5.5
    },
    "center": false,
    "decoder": "weighted_argmax",
    "fmin_hz": 0,
    "fmax_hz": null,
    "resampler": "kaiser_best",
    "silence_db": null,
    "silence_reference_db": null,
    "periodicity_median_window": 0,
    "threshold": null,
    "hysteresis": {
      "lower": 0.19,
      "upper": 0.31,
      "width": 0.2,
      "stds": 1.7
    },
    "pitch_mean_window": 0,
    "outputs": {
      "activations": false,
      "embeddings": false,
      "periodicity": true
    }
  },
  "model": {
    "name": "tiny",
    "weights_sha256": "abc",
    "device": "cpu"
  },
  "server": "127.0.0.1:1",
  "request_id": "x",
  "frames": 1001,
  "audio_seconds": 10,
  "outputs": [
    "x.f0.csv",
    "x.periodicity.csv"
  ]
}
)";
constexpr const char* kHysteresisArgs = "-m tiny --hysteresis --step-ms 5.5 --no-center --periodicity";

class ClientSidecar : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::MakeTempDir("sidecar");
    stem_ = dir_ + "/x";
    for (const char* suffix : {".f0.csv", ".periodicity.csv"}) std::ofstream(stem_ + suffix) << "x";
  }
  void TearDown() override { fs::remove_all(dir_); }
  void WriteSidecar(const std::string& text) const { std::ofstream(SidecarPath(stem_)) << text; }
  bool Complete(const std::string& args, std::string* why_not = nullptr) const {
    return OutputsComplete(stem_, Options(args), why_not);
  }
  std::string dir_, stem_;
};

TEST_F(ClientSidecar, OldSidecarsWithEqualSettingsAreDone) {
  std::string why;
  WriteSidecar(kOldThreshold);
  EXPECT_TRUE(Complete(kThresholdArgs, &why)) << why;
  EXPECT_FALSE(Complete(std::string(kThresholdArgs) + " --fmin 50", &why));
  EXPECT_NE(why.find("settings differ"), std::string::npos) << why;
  WriteSidecar(kOldHysteresis);
  EXPECT_TRUE(Complete(kHysteresisArgs, &why)) << why;
  EXPECT_FALSE(Complete("-m tiny --hysteresis --step-ms 5.5 --periodicity", &why));  // centred
}

TEST_F(ClientSidecar, NumbersAreComparedByValueNotSpelling) {
  // 0.3f written as the double it is, 10 as 1e1, keys in another order.
  std::string text = kOldThreshold;
  text.replace(text.find("\"threshold\": 0.3"), 16, "\"threshold\": 0.30000001192092896");
  text.replace(text.find("\"value\": 10"), 11, "\"value\": 1e1");
  text.replace(text.find("\"model\": \"tiny\","), 16, "");
  text.replace(text.find("\"center\": true,"), 15, "\"center\": true, \"model\": \"tiny\",");
  WriteSidecar(text);
  std::string why;
  EXPECT_TRUE(Complete(kThresholdArgs, &why)) << why << "\n" << text;
}

TEST_F(ClientSidecar, WhatIsWrittenReadsBackAsDone) {
  for (const char* args : {kThresholdArgs, kHysteresisArgs, "-m full -V --hop 441 --mean-filter 5 --periodicity"}) {
    const cli::AnalysisOptions options = Options(args);
    SidecarRecord record;
    record.input = "/in/x.wav";
    record.frames = 1001;
    record.outputs = {"x.f0.csv"};
    if (options.outputs.periodicity) record.outputs.push_back("x.periodicity.csv");
    const std::string text = EncodeSidecar(options, record);
    EXPECT_EQ(text.back(), '\n');
    EXPECT_NE(text.find("\"format\": \"crepe-client/1\""), std::string::npos) << text;
    EXPECT_NE(text.find("\"frames\": 1001"), std::string::npos) << text;
    EXPECT_NE(text.find("\"center\": "), std::string::npos) << text;  // false and 0 are written too
    WriteSidecar(text);
    std::string why;
    EXPECT_TRUE(OutputsComplete(stem_, options, &why)) << args << ": " << why << "\n" << text;
  }
}

TEST_F(ClientSidecar, MissingOutputsOrAnotherFormatAreNotDone) {
  std::string why;
  WriteSidecar(kOldHysteresis);
  fs::remove(stem_ + ".periodicity.csv");
  EXPECT_FALSE(Complete(kHysteresisArgs, &why));
  EXPECT_NE(why.find("missing"), std::string::npos) << why;
  std::string other = kOldThreshold;
  other.replace(other.find("crepe-client/1"), 14, "crepe-client/2");
  WriteSidecar(other);
  EXPECT_FALSE(Complete(kThresholdArgs, &why));
  WriteSidecar("{ not json");
  EXPECT_FALSE(Complete(kThresholdArgs, &why));
  fs::remove(SidecarPath(stem_));
  EXPECT_FALSE(Complete(kThresholdArgs, &why));
  EXPECT_EQ(why, "no sidecar");
}

}  // namespace
}  // namespace crepe::client
