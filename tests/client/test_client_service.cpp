// crepe-client against a real crepe-server: the outputs equal crepe-predict's, a killed run
// resumes without touching finished files, failures are listed for a rerun, shards partition
// the inputs, the client's threads stay few however many requests are in flight, and the health
// and models commands report what the server says.
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "crepe/audio.h"
#include "crepe/capacity.h"
#include "crepe/weights.h"
#include "sidecar_format.pb.h"
#include "support/fixtures.h"
#include "support/server_process.h"
#include "support/test_paths.h"

namespace crepe {
namespace {
namespace fs = std::filesystem;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A 16-bit PCM WAV file of interleaved samples.
void WriteWav(const std::string& path, const std::vector<float>& samples, int rate, int channels) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << test::WavBytes(samples, rate, channels, false);
}

struct FileId {
  ino_t inode;
  int64_t mtime_ns;
  bool operator==(const FileId& o) const { return inode == o.inode && mtime_ns == o.mtime_ns; }
};
FileId IdOf(const std::string& path) {
  struct stat st {};
  ::stat(path.c_str(), &st);
  return {st.st_ino, int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec};
}

class ClientService : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::MakeTempDir("client");
    in_ = dir_ + "/in";
    out_ = dir_ + "/out";
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }

  // A server on the CPU holding only tiny, unless a test asks for more.
  void StartServer(std::vector<std::string> args = {"--models", "tiny"}) {
    args.insert(args.end(), {"--device", "cpu"});
    std::string error;
    server_ = test::ServerProcess::Start(args, &error);
    ASSERT_TRUE(server_) << error;
  }
  std::string ClientCommand(const std::string& args) const {
    return test::BinaryPath("client/crepe-client") + " " + args;
  }
  int Client(const std::string& args, std::string* log = nullptr) const {
    std::string output;
    const int code = test::RunCommand(ClientCommand(args), &output);
    if (log != nullptr) *log = output;
    return code;
  }
  // crepe-client predict against our server, quietly, with tiny.
  int ClientPredict(const std::string& args, std::string* log = nullptr) const {
    return Client("predict -q --server " + server_->address() + " -m tiny " + args, log);
  }
  int LocalPredict(const std::string& args, std::string* log = nullptr) const {
    const std::string models = fs::path(test::WeightsPath(Capacity::kTiny)).parent_path().string();
    return test::RunCommand(
        test::BinaryPath("predict/crepe-predict") + " -q -m tiny --models-dir '" + models + "' " + args, log);
  }

  // Test audio from the shared reference data, never copied into the repository.
  std::string CopyTestWav(const std::string& relative) const {
    const fs::path target = fs::path(in_) / relative;
    fs::create_directories(target.parent_path());
    fs::copy_file(test::SharedPath("testdata/crepe-reference/test.wav"), target);
    return target.string();
  }
  std::string CopySweep(const std::string& relative) const {
    const fs::path target = fs::path(in_) / relative;
    fs::create_directories(target.parent_path());
    fs::copy_file(test::SharedPath("testdata/crepe-reference/sweep.wav"), target);
    return target.string();
  }
  // The two halves of test.wav swapped, as stereo with the channels at different gains.
  std::string WriteSplicedStereo(const std::string& relative) const {
    auto audio = ReadAudioFile(test::SharedPath("testdata/crepe-reference/test.wav"));
    EXPECT_TRUE(audio.ok());
    const std::vector<float>& s = audio->samples;
    const size_t half = s.size() / 2;
    std::vector<float> spliced(s.begin() + static_cast<std::ptrdiff_t>(half), s.end());
    spliced.insert(spliced.end(), s.begin(), s.begin() + static_cast<std::ptrdiff_t>(half));
    std::vector<float> stereo;
    for (float v : spliced) {
      stereo.push_back(v);
      stereo.push_back(0.5f * v);
    }
    const std::string path = (fs::path(in_) / relative).string();
    WriteWav(path, stereo, audio->sample_rate, 2);
    return path;
  }

  // `n` short tones (0.5 s at 16 kHz, 51 frames each) named t100.wav, t101.wav, ...
  void WriteTones(int n) const {
    constexpr int kRate = 16000;
    for (int i = 0; i < n; ++i) {
      std::vector<float> tone(kRate / 2);
      for (size_t t = 0; t < tone.size(); ++t) tone[t] = 0.5f * std::sin(2 * M_PI * (200 + 5 * i) * t / kRate);
      WriteWav(in_ + "/t" + std::to_string(100 + i) + ".wav", tone, kRate, 1);
    }
  }

  // Regular files under `root`, relative, sorted; hidden files (temporaries) left out.
  static std::vector<std::string> Files(const std::string& root, const std::string& suffix = "") {
    std::vector<std::string> files;
    if (!fs::exists(root)) return files;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      const std::string name = e.path().filename().string();
      if (!e.is_regular_file() || name[0] == '.') continue;
      const std::string rel = fs::relative(e.path(), root).string();
      if (suffix.empty() ||
          (rel.size() >= suffix.size() && rel.compare(rel.size() - suffix.size(), suffix.size(), suffix) == 0)) {
        files.push_back(rel);
      }
    }
    std::sort(files.begin(), files.end());
    return files;
  }
  static std::vector<std::string> Without(std::vector<std::string> files, const std::string& suffix) {
    files.erase(std::remove_if(files.begin(), files.end(),
                               [&](const std::string& f) {
                                 return f.size() >= suffix.size() &&
                                        f.compare(f.size() - suffix.size(), suffix.size(), suffix) == 0;
                               }),
                files.end());
    return files;
  }

  std::unique_ptr<test::ServerProcess> server_;
  std::string dir_, in_, out_;
};

// The sidecar read as its own message (client/sidecar_format.proto): every key must be one it defines.
client::sidecar::Sidecar ParseSidecar(const std::string& text) {
  client::sidecar::Sidecar s;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(text, &s).ok()) << text;
  return s;
}

TEST_F(ClientService, OutputsEqualCrepePredictsAndSidecarsRecordTheRun) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  CopyTestWav("a.wav");
  CopySweep("sub/b.wav");
  WriteSplicedStereo("sub/deeper/c.wav");
  const std::string options = "--periodicity --activations --embeddings -V ";
  std::string log;
  ASSERT_EQ(LocalPredict(options + "-o " + dir_ + "/local " + in_, &log), 0) << log;
  ASSERT_EQ(ClientPredict(options + "-o " + out_ + " " + in_, &log), 0) << log;

  const std::vector<std::string> local = Files(dir_ + "/local");
  ASSERT_EQ(local.size(), 12u);  // 3 inputs x 4 outputs
  EXPECT_EQ(Without(Files(out_), ".crepe.json"), local);
  EXPECT_EQ(Files(out_, ".crepe.json"),
            (std::vector<std::string>{"a.crepe.json", "sub/b.crepe.json", "sub/deeper/c.crepe.json"}));
  for (const std::string& f : local) {
    EXPECT_TRUE(ReadFile(dir_ + "/local/" + f) == ReadFile(out_ + "/" + f)) << f << " differs from crepe-predict's";
  }

  const client::sidecar::Sidecar record = ParseSidecar(ReadFile(out_ + "/sub/b.crepe.json"));
  EXPECT_EQ(record.input(), in_ + "/sub/b.wav");
  EXPECT_EQ(record.settings().model(), "tiny");
  EXPECT_EQ(record.settings().decoder(), "viterbi");
  EXPECT_EQ(record.settings().resampler(), "kaiser_best");
  EXPECT_TRUE(record.settings().center());
  EXPECT_TRUE(record.settings().outputs().embeddings());
  EXPECT_EQ(record.model().name(), "tiny");
  EXPECT_EQ(record.model().device(), "cpu");
  auto sha = Sha256File(test::WeightsPath(Capacity::kTiny));
  ASSERT_TRUE(sha.ok());
  EXPECT_EQ(record.model().weights_sha256(), *sha);
  const std::vector<std::string> listed(record.outputs().begin(), record.outputs().end());
  EXPECT_EQ(listed, (std::vector<std::string>{"b.f0.csv", "b.activation.npy", "b.embedding.npy", "b.periodicity.csv"}));
}

TEST_F(ClientService, LargeFilesAreStreamedWithTheSameResult) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  CopyTestWav("big.wav");  // 882 kB: over a 1 MiB limit once the request's envelope is counted
  std::string log;
  ASSERT_EQ(LocalPredict("--periodicity -o " + dir_ + "/local " + in_, &log), 0) << log;
  ASSERT_EQ(ClientPredict("--periodicity --max-message-mb 1 -o " + out_ + " " + in_, &log), 0) << log;
  EXPECT_EQ(ReadFile(out_ + "/big.f0.csv"), ReadFile(dir_ + "/local/big.f0.csv"));
  EXPECT_EQ(ReadFile(out_ + "/big.periodicity.csv"), ReadFile(dir_ + "/local/big.periodicity.csv"));
}

TEST_F(ClientService, WhatOneMessageCannotHoldGoesThroughAStream) {
  // The server takes 1 MiB messages, the client is not told: the file (1.7 MB) and then the
  // response (activations, 1.4 MB) are refused, and the client streams instead.
  ASSERT_NO_FATAL_FAILURE(StartServer({"--models", "tiny", "--max-message-mb", "1"}));
  auto audio = ReadAudioFile(test::SharedPath("testdata/crepe-reference/test.wav"));
  ASSERT_TRUE(audio.ok());
  std::vector<float> twice = audio->samples;
  twice.insert(twice.end(), audio->samples.begin(), audio->samples.end());
  WriteWav(in_ + "/long.wav", twice, audio->sample_rate, 1);
  CopyTestWav("short.wav");
  std::string log;
  ASSERT_EQ(LocalPredict("--activations -o " + dir_ + "/local " + in_, &log), 0) << log;
  ASSERT_EQ(Client("predict --server " + server_->address() + " -m tiny --activations -o " + out_ + " " + in_, &log), 0)
      << log;
  EXPECT_NE(log.find("long.wav: too large for one message"), std::string::npos) << log;
  EXPECT_NE(log.find("short.wav: too large for one message"), std::string::npos) << log;
  for (const char* f : {"long.f0.csv", "long.activation.npy", "short.f0.csv", "short.activation.npy"}) {
    EXPECT_TRUE(ReadFile(out_ + "/" + f) == ReadFile(dir_ + "/local/" + f)) << f;
  }
  // Every call, Predict and StreamPredict (whose default is INTERACTIVE), says it is bulk work.
  const std::string served = server_->Log();
  EXPECT_NE(served.find("priority=bulk"), std::string::npos) << served;
  EXPECT_EQ(served.find("priority=interactive"), std::string::npos) << served;
}

TEST_F(ClientService, RequestsGoAroundAServerThatIsDown) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  for (int i = 0; i < 4; ++i) CopySweep("s" + std::to_string(i) + ".wav");
  const std::string nobody = "127.0.0.1:" + std::to_string(test::UnusedPort());
  std::string log;
  ASSERT_EQ(ClientPredict(
                "--retries 2 --server " + nobody + " --server " + server_->address() + " -o " + out_ + " " + in_, &log),
            0)
      << log;
  EXPECT_EQ(Files(out_, ".crepe.json").size(), 4u);
}

TEST_F(ClientService, ABusyServerIsAskedAgainAfterABackOff) {
  ASSERT_NO_FATAL_FAILURE(StartServer({"--models", "tiny", "--max-requests", "1"}));
  constexpr int kFiles = 8;
  WriteTones(kFiles);
  std::string log;
  // More requests in flight than the server takes: it refuses the rest (TOO_MANY_CALLS).
  ASSERT_EQ(Client("predict --retries 50 --max-in-flight 8 --server " + server_->address() + " -m tiny -o " + out_ +
                       " " + in_,
                   &log),
            0)
      << log;
  EXPECT_NE(log.find("retrying in"), std::string::npos) << log;
  EXPECT_EQ(Files(out_, ".crepe.json").size(), static_cast<size_t>(kFiles));
}

TEST_F(ClientService, AKilledRunResumesAndLeavesFinishedFilesAlone) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  constexpr int kFiles = 12;
  for (int i = 0; i < kFiles; ++i) CopyTestWav("f" + std::to_string(100 + i) + ".wav");
  std::string error;
  auto client = test::ChildProcess::Start({test::BinaryPath("client/crepe-client"), "predict", "-q", "--server",
                                           server_->address(), "-m", "tiny", "--max-in-flight", "1", "-o", out_, in_},
                                          dir_ + "/client.log", &error);
  ASSERT_TRUE(client) << error;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (Files(out_, ".crepe.json").size() < 3 && client->Running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_TRUE(client->Signal(SIGKILL)) << "the client finished before it could be killed:\n" << client->Log();
  EXPECT_EQ(client->WaitExit(), 128 + SIGKILL);

  // Whatever exists is whole: every f0.csv equals the first one's (all inputs are the same clip).
  const std::vector<std::string> sidecars = Files(out_, ".crepe.json");
  ASSERT_GE(sidecars.size(), 3u);
  ASSERT_LT(sidecars.size(), static_cast<size_t>(kFiles));
  const std::string expected = ReadFile(out_ + "/f100.f0.csv");
  EXPECT_EQ(std::count(expected.begin(), expected.end(), '\n'), 1002);  // header + 1001 frames
  for (const std::string& f : Files(out_, ".f0.csv")) EXPECT_EQ(ReadFile(out_ + "/" + f), expected) << f;
  std::map<std::string, FileId> finished;
  for (const std::string& s : sidecars) {
    const std::string stem = s.substr(0, s.size() - std::strlen(".crepe.json"));
    finished[s] = IdOf(out_ + "/" + s);
    finished[stem + ".f0.csv"] = IdOf(out_ + "/" + stem + ".f0.csv");
  }

  std::string log;
  ASSERT_EQ(ClientPredict("-o " + out_ + " " + in_, &log), 0) << log;
  EXPECT_EQ(Files(out_, ".crepe.json").size(), static_cast<size_t>(kFiles));
  const std::vector<std::string> f0 = Files(out_, ".f0.csv");
  ASSERT_EQ(f0.size(), static_cast<size_t>(kFiles));
  for (const std::string& f : f0) EXPECT_EQ(ReadFile(out_ + "/" + f), expected) << f;
  for (const auto& [name, id] : finished) EXPECT_TRUE(IdOf(out_ + "/" + name) == id) << name << " was rewritten";
}

TEST_F(ClientService, RerunsSkipDoneInputsUnlessSettingsChangeOrOverwrite) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  CopyTestWav("a.wav");
  std::string log;
  ASSERT_EQ(ClientPredict("-o " + out_ + " " + in_, &log), 0) << log;
  const FileId first = IdOf(out_ + "/a.f0.csv");
  ASSERT_EQ(Client("predict --server " + server_->address() + " -m tiny -o " + out_ + " " + in_, &log), 0) << log;
  EXPECT_TRUE(IdOf(out_ + "/a.f0.csv") == first);
  EXPECT_NE(log.find("0 processed, 1 skipped"), std::string::npos) << log;
  ASSERT_EQ(ClientPredict("--periodicity -o " + out_ + " " + in_, &log), 0) << log;  // other settings
  const FileId second = IdOf(out_ + "/a.f0.csv");
  EXPECT_FALSE(second == first);
  EXPECT_TRUE(fs::exists(out_ + "/a.periodicity.csv"));
  ASSERT_EQ(ClientPredict("--periodicity --overwrite -o " + out_ + " " + in_, &log), 0) << log;
  EXPECT_FALSE(IdOf(out_ + "/a.f0.csv") == second);
  fs::remove(out_ + "/a.periodicity.csv");  // a listed output gone: redo
  ASSERT_EQ(ClientPredict("--periodicity -o " + out_ + " " + in_, &log), 0) << log;
  EXPECT_TRUE(fs::exists(out_ + "/a.periodicity.csv"));
}

TEST_F(ClientService, AFailingInputIsListedForARerunAndTheOthersSucceed) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  CopyTestWav("good.wav");
  CopySweep("sub/fine.wav");
  const std::string bad = in_ + "/sub/bad.wav";
  std::ofstream(bad, std::ios::binary) << std::string(5000, '\x7f');
  std::string log;
  EXPECT_EQ(ClientPredict("-o " + out_ + " " + in_, &log), 1) << log;
  EXPECT_NE(log.find("bad.wav"), std::string::npos) << log;
  EXPECT_EQ(Without(Files(out_), ".crepe.json"),
            (std::vector<std::string>{"failed.txt", "good.f0.csv", "sub/fine.f0.csv"}));
  // Listed so that --manifest names it as before: below the folder it was found in.
  EXPECT_EQ(ReadFile(out_ + "/failed.txt"), in_ + "/./sub/bad.wav\n");

  fs::remove(bad);
  CopySweep("sub/bad.wav");  // repaired
  ASSERT_EQ(ClientPredict("--manifest " + out_ + "/failed.txt -o " + out_, &log), 0) << log;
  EXPECT_TRUE(fs::exists(out_ + "/sub/bad.f0.csv"));
  EXPECT_TRUE(fs::exists(out_ + "/sub/bad.crepe.json"));
  EXPECT_FALSE(fs::exists(out_ + "/failed.txt"));  // nothing failed: no stale list

  // A custom list is written even when empty; quoted patterns are expanded by the client.
  ASSERT_EQ(ClientPredict("--failed-list " + dir_ + "/f.txt -o " + out_ + " '" + in_ + "/*.wav'", &log), 0) << log;
  EXPECT_EQ(ReadFile(dir_ + "/f.txt"), "");
}

TEST_F(ClientService, ShardsPartitionTheSortedInputs) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  for (int i = 0; i < 5; ++i) CopySweep("s" + std::to_string(i) + ".wav");
  std::string log;
  ASSERT_EQ(ClientPredict("--shard 0/2 -o " + out_ + " " + in_, &log), 0) << log;
  EXPECT_EQ(Files(out_, ".f0.csv"), (std::vector<std::string>{"s0.f0.csv", "s2.f0.csv", "s4.f0.csv"}));
  ASSERT_EQ(ClientPredict("--shard 1/2 -o " + out_ + " " + in_, &log), 0) << log;
  EXPECT_EQ(Files(out_, ".f0.csv"),
            (std::vector<std::string>{"s0.f0.csv", "s1.f0.csv", "s2.f0.csv", "s3.f0.csv", "s4.f0.csv"}));
  EXPECT_EQ(ClientPredict("--shard 2/2 -o " + out_ + " " + in_, &log), 2) << log;
}

// How many threads the process has ("Threads:" in /proc/<pid>/status); 0 once it has exited.
int ThreadsOf(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(std::strlen("Threads:")));
  }
  return 0;
}

// --max-in-flight bounds requests, not threads: with thousands allowed in flight and every input
// under way at once, the client runs a few threads of its own (main, up to 4 workers, a timer)
// plus gRPC's.
TEST_F(ClientService, ThreadsStayFewHoweverManyRequestsAreInFlight) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  constexpr int kFiles = 96;
  // gRPC 1.51 sizes two of its pools by the number of cores (13 threads in all on 2 cores, 35 on
  // 16, 59 on 64 and more); a thread per request would exceed this bound with kFiles inputs.
  constexpr int kMaxThreads = 64;
  WriteTones(kFiles);
  std::string error;
  auto client =
      test::ChildProcess::Start({test::BinaryPath("client/crepe-client"), "predict", "-q", "--server",
                                 server_->address(), "-m", "tiny", "--max-in-flight", "4096", "-o", out_, in_},
                                dir_ + "/client.log", &error);
  ASSERT_TRUE(client) << error;
  int most = 0;
  int samples = 0;
  while (client->Running()) {
    const int now = ThreadsOf(client->pid());
    most = std::max(most, now);
    samples += now > 0 ? 1 : 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(client->WaitExit(), 0) << client->Log();
  EXPECT_GT(samples, 0);
  RecordProperty("most_threads", most);
  EXPECT_LT(most, kMaxThreads) << "threads seen at once";
  EXPECT_EQ(Files(out_, ".crepe.json").size(), static_cast<size_t>(kFiles));
  const std::vector<std::string> f0 = Files(out_, ".f0.csv");
  ASSERT_EQ(f0.size(), static_cast<size_t>(kFiles));
  for (const std::string& f : f0) {
    const std::string text = ReadFile(out_ + "/" + f);
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 52) << f;  // header + 51 frames
  }
}

TEST_F(ClientService, HealthSaysServingOnlyForALiveServer) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  std::string log;
  EXPECT_EQ(Client("health --server " + server_->address(), &log), 0) << log;
  EXPECT_NE(log.find("SERVING"), std::string::npos) << log;
  const std::string nobody = "127.0.0.1:" + std::to_string(test::UnusedPort());
  EXPECT_EQ(Client("health --timeout-s 2 --server " + nobody, &log), 1) << log;
  EXPECT_NE(log.find("UNAVAILABLE"), std::string::npos) << log;
  EXPECT_EQ(Client("health --server " + server_->address() + " --server " + nobody, &log), 1) << log;
  EXPECT_EQ(Client("health", &log), 2) << log;  // --server is required
}

TEST_F(ClientService, ModelsListsAllFiveCapacities) {
  ASSERT_NO_FATAL_FAILURE(StartServer({}));  // the server's default: all five
  std::string log;
  ASSERT_EQ(Client("models --server " + server_->address(), &log), 0) << log;
  for (const char* name : {"tiny", "small", "medium", "large", "full"}) {
    bool found = false;
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);) {
      found = found || (line.rfind(name, 0) == 0 && line.find("READY") != std::string::npos &&
                        line.find("cpu") != std::string::npos);
    }
    EXPECT_TRUE(found) << name << " not listed as READY on cpu:\n" << log;
  }
}

TEST_F(ClientService, AnUnreachableServerFailsEachInputAfterItsRetries) {
  CopySweep("a.wav");
  const std::string nobody = "127.0.0.1:" + std::to_string(test::UnusedPort());
  std::string log;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Client("predict -q --retries 1 --server " + nobody + " -m tiny -o " + out_ + " " + in_, &log), 1) << log;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  EXPECT_NE(log.find("UNAVAILABLE"), std::string::npos) << log;
  EXPECT_EQ(ReadFile(out_ + "/failed.txt"), in_ + "/a.wav\n");  // its name needs no marker
}

TEST_F(ClientService, UsageErrorsExitTwo) {
  CopySweep("a.wav");
  std::string log;
  const std::vector<std::string> usage_errors = {"predict -m tiny -o " + out_ + " " + in_,  // no --server
                                                 "predict --server x:1 -m huge -o " + out_ + " " + in_,
                                                 "predict --server x:1 -m tiny " + in_,  // no -o
                                                 "predict --server x:1 -m tiny --shard 1/1 -o " + out_ + " " + in_,
                                                 "predict --server x:1 -m tiny -o " + out_,  // no input
                                                 "predict --server x:1 --silence-reference-db 0 -o " + out_ + " " + in_,
                                                 "predict --server x:1 --manifest " + dir_ + "/none.txt -o " + out_,
                                                 "frobnicate"};
  for (const std::string& args : usage_errors) {
    EXPECT_EQ(Client(args, &log), 2) << args << "\n" << log;
  }
  EXPECT_FALSE(fs::exists(out_));
}

}  // namespace
}  // namespace crepe
