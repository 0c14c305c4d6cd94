// crepe-predict as a user runs it: outputs, formats, and every bad input giving a clear error
// with no partial output left behind.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "crepe/capacity.h"
#include "support/fixtures.h"
#include "support/test_paths.h"

namespace crepe {
namespace {
namespace fs = std::filesystem;

std::string WavBytes(const std::vector<float>& samples, int rate, bool as_float) {
  return test::WavBytes(samples, rate, 1, as_float);
}

std::vector<float> Sine(double hz, double seconds, int rate) {
  std::vector<float> s(static_cast<size_t>(seconds * rate));
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<float>(0.5 * std::sin(2 * M_PI * hz * i / rate));
  return s;
}

class PredictCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::MakeTempDir("cli");
    out_ = dir_ + "/out";
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& bytes) {
    const std::string path = dir_ + "/" + name;
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  int Predict(const std::string& args, std::string* output = nullptr) {
    const std::string models = fs::path(test::WeightsPath(Capacity::kTiny)).parent_path().string();
    return test::RunCommand(
        test::BinaryPath("predict/crepe-predict") + " -q -m tiny --models-dir '" + models + "' " + args, output);
  }
  // Files under the output folder (nothing partial may ever be left there).
  std::vector<std::string> OutputFiles() const {
    std::vector<std::string> files;
    if (!fs::exists(out_)) return files;
    for (const auto& e : fs::recursive_directory_iterator(out_)) {
      if (e.is_regular_file()) files.push_back(fs::relative(e.path(), out_).string());
    }
    std::sort(files.begin(), files.end());
    return files;
  }

  std::string dir_, out_;
};

TEST_F(PredictCli, WritesTheOriginalsCsvAndRequestedOutputs) {
  const auto wav = Write("a440.wav", WavBytes(Sine(440, 1.0, 22050), 22050, false));
  std::string log;
  ASSERT_EQ(Predict("--activations --embeddings --periodicity -o " + out_ + " " + wav, &log), 0) << log;
  EXPECT_EQ(OutputFiles(), (std::vector<std::string>{"a440.activation.npy", "a440.embedding.npy", "a440.f0.csv",
                                                     "a440.periodicity.csv"}));
  std::ifstream csv(out_ + "/a440.f0.csv");
  std::string header, first;
  std::getline(csv, header);
  std::getline(csv, first);
  EXPECT_EQ(header, "time,frequency,confidence");
  EXPECT_EQ(first.substr(0, 6), "0.000,");
  const test::CsvTable t = test::ReadCsv(out_ + "/a440.f0.csv");
  ASSERT_EQ(t.Column("time").size(), 101u);  // 1 + 16000 // 160
  const auto& f = t.Column("frequency");
  EXPECT_NEAR(1200 * std::log2(f[50] / 440.0), 0.0, 10.0);
  EXPECT_EQ(test::LoadNpy(out_ + "/a440.activation.npy").shape, (std::vector<int64_t>{101, 360}));
  EXPECT_EQ(test::LoadNpy(out_ + "/a440.embedding.npy").shape, (std::vector<int64_t>{101, 32, 8}));
}

TEST_F(PredictCli, DirectoriesAreSearchedRecursivelyAndMirrored) {
  Write("in/a.wav", WavBytes(Sine(220, 0.3, 16000), 16000, false));
  Write("in/sub/b.wav", WavBytes(Sine(330, 0.3, 16000), 16000, false));
  Write("in/notes.txt", "not audio");
  ASSERT_EQ(Predict("-o " + out_ + " " + dir_ + "/in"), 0);
  EXPECT_EQ(OutputFiles(), (std::vector<std::string>{"a.f0.csv", "sub/b.f0.csv"}));
}

TEST_F(PredictCli, OneBadInputIsReportedAndTheOthersStillProcessed) {
  Write("in/good.wav", WavBytes(Sine(220, 0.3, 16000), 16000, false));
  Write("in/empty.wav", "");
  Write("in/garbage.wav", std::string(5000, '\x7f'));
  std::vector<float> with_nan = Sine(220, 0.3, 16000);
  with_nan[1234] = NAN;
  Write("in/nan.wav", WavBytes(with_nan, 16000, true));
  std::vector<float> with_inf = Sine(220, 0.3, 16000);
  with_inf[10] = INFINITY;
  Write("in/inf.wav", WavBytes(with_inf, 16000, true));
  std::string truncated = WavBytes(Sine(220, 0.3, 16000), 16000, false);
  Write("in/truncated.wav", truncated.substr(0, 30));
  Write("in/rate.wav", WavBytes(Sine(2, 0.3, 10), 10, false));  // an absurd 10 Hz sample rate
  std::string log;
  EXPECT_EQ(Predict("-o " + out_ + " " + dir_ + "/in", &log), 1) << log;
  EXPECT_EQ(OutputFiles(), (std::vector<std::string>{"good.f0.csv"}));
  EXPECT_NE(log.find("6 of 7 input(s) failed"), std::string::npos) << log;
  for (const char* name : {"empty.wav", "garbage.wav", "nan.wav", "inf.wav", "truncated.wav", "rate.wav"}) {
    EXPECT_NE(log.find(name), std::string::npos) << name << " not named in: " << log;
  }
}

TEST_F(PredictCli, UsageErrorsExitTwoWithAMessage) {
  const auto wav = Write("a.wav", WavBytes(Sine(220, 0.3, 16000), 16000, false));
  struct Bad {
    std::string args, says;
  } bad[] = {
      {"-m huge " + wav, "unknown model capacity 'huge'"},
      {"--decoder beam " + wav, "unknown decoder"},
      {"--hop 0 " + wav, "hop must be a positive"},
      {"--step-ms -5 " + wav, "hop must be a positive"},
      {"--step-ms 0 " + wav, "hop must be a positive"},
      {"--hop 160 --step-ms 10 " + wav, "excludes"},
      {"--fmin 500 --fmax 100 " + wav, "must be greater than fmin"},
      {"--fmin -3 " + wav, "fmin must be"},
      {"--fmin 5000 " + wav, ""},
      {"--median-filter 4 " + wav, "odd"},
      {"--threshold 1.5 " + wav, "voicing threshold"},
      {"--resampler linear " + wav, "resampler"},
      {"--batch 0 " + wav, "batch must be between"},
      {"", "INPUT"},
  };
  for (const auto& b : bad) {
    std::string log;
    EXPECT_EQ(Predict("-o " + out_ + " " + b.args, &log), 2) << b.args << "\n" << log;
    EXPECT_NE(log.find(b.says), std::string::npos) << b.args << "\n" << log;
  }
  EXPECT_TRUE(OutputFiles().empty());
}

TEST_F(PredictCli, InputsThatWouldWriteTheSameOutputsAreRefused) {
  Write("in/x.wav", WavBytes(Sine(220, 0.3, 16000), 16000, false));
  Write("in/x.WAV", WavBytes(Sine(330, 0.3, 16000), 16000, false));
  std::string log;
  EXPECT_EQ(Predict("-o " + out_ + " " + dir_ + "/in", &log), 2) << log;
  EXPECT_NE(log.find("would both write"), std::string::npos) << log;
  EXPECT_TRUE(OutputFiles().empty());
}

TEST_F(PredictCli, ShortUncentredInputAndMissingInputs) {
  const auto wav = Write("short.wav", WavBytes(Sine(220, 0.01, 16000), 16000, false));
  std::string log;
  EXPECT_EQ(Predict("--no-center -o " + out_ + " " + wav, &log), 1);
  EXPECT_NE(log.find("shorter than one 1024-sample window"), std::string::npos) << log;
  EXPECT_EQ(Predict("-o " + out_ + " " + dir_ + "/does-not-exist.wav", &log), 1);
  EXPECT_NE(log.find("does not exist"), std::string::npos) << log;
  EXPECT_TRUE(OutputFiles().empty());
}

TEST_F(PredictCli, MissingOrCorruptWeightsFailBeforeAnyOutput) {
  const auto wav = Write("a.wav", WavBytes(Sine(220, 0.3, 16000), 16000, false));
  std::string log;
  EXPECT_EQ(Predict("--weights " + dir_ + "/nope.h5 -o " + out_ + " " + wav, &log), 1);
  EXPECT_NE(log.find("nope.h5"), std::string::npos) << log;
  const auto corrupt = Write("corrupt.h5", std::string(100000, 'z'));
  EXPECT_EQ(Predict("--weights " + corrupt + " -o " + out_ + " " + wav, &log), 1);
  EXPECT_NE(log.find("corrupt.h5"), std::string::npos) << log;
  EXPECT_NE(log.find("--allow-unofficial-weights"), std::string::npos) << log;  // HDF5 never saw it
  EXPECT_EQ(Predict("-m tiny --allow-unofficial-weights --weights " + corrupt + " -o " + out_ + " " + wav, &log), 1);
  EXPECT_NE(log.find("not a readable HDF5 file"), std::string::npos) << log;  // HDF5 did
  EXPECT_EQ(Predict("-m full --weights " + test::WeightsPath(Capacity::kTiny) + " -o " + out_ + " " + wav, &log), 1);
  EXPECT_NE(log.find("expected"), std::string::npos) << log;
  EXPECT_TRUE(OutputFiles().empty());
}

// The state dict's meaning is checked inside torchcrepe (tests/torchcrepe); here: the file is the zip
// torch.save writes, one record per tensor, and misuse fails cleanly with nothing left behind.
TEST_F(PredictCli, ExportTorchcrepeWritesTheStateDictAndRefusesMisuse) {
  std::string log;
  ASSERT_EQ(Predict("--export-torchcrepe " + out_, &log), 0) << log;
  ASSERT_EQ(OutputFiles(), std::vector<std::string>{"tiny.pth"});
  std::ifstream in(out_ + "/tiny.pth", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(bytes.substr(0, 4), std::string("PK\x03\x04", 4));
  for (const char* record :
       {"/data.pkl", "/byteorder", "/data/0", "/data/43", "conv6_BN.num_batches_tracked", "classifier.weight"}) {
    EXPECT_NE(bytes.find(record), std::string::npos) << record;
  }
  EXPECT_EQ(bytes.find("/data/44"), std::string::npos) << "44 tensors: 6 x (conv 2 + BN 5) + classifier 2";
  EXPECT_EQ(bytes.find("restore_type_tag"), std::string::npos) << "torch.load(weights_only=True) refuses type tags";
  fs::remove_all(out_);

  const auto wav = Write("a.wav", WavBytes(Sine(220, 0.3, 16000), 16000, false));
  EXPECT_EQ(Predict("--export-torchcrepe " + out_ + " " + wav, &log), 2) << log;
  EXPECT_NE(log.find("takes no INPUT"), std::string::npos) << log;
  EXPECT_EQ(Predict("--export-torchcrepe " + out_ + " --weights " + dir_ + "/nope.h5", &log), 1) << log;
  EXPECT_NE(log.find("nope.h5"), std::string::npos) << log;
  EXPECT_EQ(Predict("-m full --export-torchcrepe " + out_ + " --weights " + test::WeightsPath(Capacity::kTiny), &log),
            1);
  EXPECT_NE(log.find("expected"), std::string::npos) << log;
  EXPECT_TRUE(OutputFiles().empty());
  const auto blocker = Write("file-not-folder", "x");
  EXPECT_EQ(Predict("--export-torchcrepe " + blocker, &log), 1) << log;
  EXPECT_NE(log.find("file-not-folder"), std::string::npos) << log;
}

TEST_F(PredictCli, FramesModeWritesActivations) {
  std::string log;
  const auto frames = test::SharedPath("testdata/crepe-reference/frames-crepe.npy");
  ASSERT_EQ(Predict("--frames " + frames + " -o " + out_, &log), 0) << log;
  const NpyArray act = test::LoadNpy(out_ + "/frames-crepe.activation.npy");
  const NpyArray expected = test::LoadNpy(test::SharedPath("testdata/crepe-reference/activation-tiny.npy"));
  ASSERT_EQ(act.shape, (std::vector<int64_t>{1001, 360}));
  EXPECT_LT(test::MaxMeanAbsDiff(act.data, expected.data).first, 1e-5);
  const auto bad = Write("bad.npy", std::string("\x93NUMPY garbage"));
  EXPECT_EQ(Predict("--frames " + bad + " -o " + out_, &log), 1);
  EXPECT_NE(log.find("bad.npy"), std::string::npos) << log;
}

std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// --activations-from (what the accuracy harness uses for every decoder and post-processing
// configuration) must give the very files a full run with the same options gives.
TEST_F(PredictCli, ActivationsFromEqualsAFullRunWithTheSameOptions) {
  const std::string wav = test::SharedPath("testdata/crepe-reference/test.wav");
  std::string log;
  ASSERT_EQ(Predict("--activations -o " + dir_ + "/net " + wav, &log), 0) << log;
  const std::vector<std::string> option_sets = {
      "--decoder argmax",
      "-V --median-filter 3 --silence-db -60 --threshold 0.3 --mean-filter 3",
      "--decoder weighted_argmax --fmin 100 --fmax 800 --hysteresis",
  };
  for (const std::string& options : option_sets) {
    SCOPED_TRACE(options);
    fs::remove_all(dir_ + "/full");
    fs::remove_all(dir_ + "/reused");
    ASSERT_EQ(Predict(options + " --periodicity -o " + dir_ + "/full " + wav, &log), 0) << log;
    // No weights are needed: a models folder that does not exist is never read.
    const std::string reuse = test::BinaryPath("predict/crepe-predict") + " -q -m tiny --models-dir /nonexistent " +
                              options + " --periodicity --activations-from " + dir_ + "/net -o " + dir_ + "/reused " +
                              wav;
    ASSERT_EQ(test::RunCommand(reuse, &log), 0) << log;
    for (const char* file : {"/test.f0.csv", "/test.periodicity.csv"}) {
      const std::string full = FileBytes(dir_ + "/full" + file);
      ASSERT_FALSE(full.empty());
      EXPECT_EQ(full, FileBytes(dir_ + "/reused" + file)) << file;
    }
  }
}

TEST_F(PredictCli, ActivationsFromRefusesWhatItCannotDecode) {
  const auto wav = Write("a440.wav", WavBytes(Sine(440, 1.0, 16000), 16000, false));
  std::string log;
  // Nothing recorded for this input.
  fs::create_directories(dir_ + "/empty");
  EXPECT_EQ(Predict("--activations-from " + dir_ + "/empty -o " + out_ + " " + wav, &log), 1);
  EXPECT_NE(log.find("--activations-from: "), std::string::npos) << log;
  EXPECT_NE(log.find("a440.activation.npy"), std::string::npos) << log;
  // Recorded with another hop: the frame counts differ.
  ASSERT_EQ(Predict("--activations -o " + dir_ + "/net " + wav, &log), 0) << log;
  EXPECT_EQ(Predict("--hop 320 --activations-from " + dir_ + "/net -o " + out_ + " " + wav, &log), 1);
  EXPECT_NE(log.find("the activations hold 101 frames"), std::string::npos) << log;
  // Not a (frames, 360) array.
  Write("bad/a440.activation.npy", FileBytes(dir_ + "/net/a440.f0.csv"));
  EXPECT_EQ(Predict("--activations-from " + dir_ + "/bad -o " + out_ + " " + wav, &log), 1);
  // Embeddings need the network; a folder that does not exist; --frames at the same time.
  EXPECT_EQ(Predict("--embeddings --activations-from " + dir_ + "/net " + wav, &log), 2);
  EXPECT_NE(log.find("--embeddings needs the network"), std::string::npos) << log;
  EXPECT_EQ(Predict("--activations-from " + dir_ + "/nowhere " + wav, &log), 2);
  EXPECT_EQ(Predict("--frames x.npy --activations-from " + dir_ + "/net", &log), 2);
  EXPECT_TRUE(OutputFiles().empty());
}

TEST_F(PredictCli, BundledExampleRuns) {
  std::string log;
  ASSERT_EQ(Predict("--decoder viterbi -o " + out_ + " " + test::SourcePath("assets/examples/sung-vowel.wav"), &log), 0)
      << log;
  const test::CsvTable ours = test::ReadCsv(out_ + "/sung-vowel.f0.csv");
  const test::CsvTable truth = test::ReadCsv(test::SourcePath("assets/examples/sung-vowel.f0.csv"));
  const auto& f = ours.Column("frequency");
  const auto& c = ours.Column("confidence");
  const auto& ft = truth.Column("frequency");
  int voiced = 0, close = 0;
  for (size_t t = 0; t < std::min(f.size(), ft.size()); ++t) {
    if (ft[t] <= 0 || c[t] < 0.5) continue;
    ++voiced;
    close += std::abs(1200 * std::log2(f[t] / ft[t])) < 50;
  }
  ASSERT_GT(voiced, 100);
  EXPECT_GT(static_cast<double>(close) / voiced, 0.95);
}

}  // namespace
}  // namespace crepe
