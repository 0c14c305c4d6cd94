// crepe-server under callers that misbehave or are unlucky, on loopback with the real weights:
// slow readers hold bounded memory, idle streams neither lock others out nor live for ever, a
// batch fault ends exactly its call, SIGTERM during loading does not wait for the models, and
// every call is logged once with what really happened.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "crepe/predictor.h"
#include "service_client.h"
#include "status_mapping.h"
#include "support/server_process.h"
#include "support/source_relay.h"

namespace crepe {
namespace {

using test::CallPredict;
using test::Connect;
using test::Expected;
using test::Request;
using test::StartServer;
using Clock = std::chrono::steady_clock;
using Stream = grpc::ClientReaderWriter<v1::StreamRequest, v1::StreamResponse>;

constexpr int64_t kMiB = 1 << 20;

v1::StreamRequest Config(const rpc::AnalysisRequest& request, const std::string& id = "") {
  v1::StreamRequest config;
  rpc::EncodeOptions(request, config.mutable_config()->mutable_options());
  config.mutable_config()->set_sample_rate_hz(16000);
  config.mutable_config()->set_format(v1::SAMPLE_FORMAT_FLOAT32);
  config.mutable_config()->set_request_id(id);
  return config;
}

// 100 ms of a 200 Hz tone at 16 kHz: a whole number of periods, so repeating it is seamless.
v1::StreamRequest ToneChunk() {
  std::vector<float> samples(1600);
  for (size_t i = 0; i < samples.size(); ++i)
    samples[i] = static_cast<float>(0.4 * std::sin(2 * M_PI * 200 * i / 16000.0));
  v1::StreamRequest chunk;
  chunk.set_audio(rpc::EncodePcm(samples.data(), samples.size(), v1::SAMPLE_FORMAT_FLOAT32));
  return chunk;
}

// A stream whose client uploads as fast as the server lets it and reads its results only when
// told to, slowly.
class SlowReader {
 public:
  SlowReader(v1::PitchService::Stub& stub, const v1::StreamRequest& config, int64_t chunks) {
    stream_ = stub.StreamPredict(&context_);
    writer_ = std::thread([this, config, chunks] {
      const v1::StreamRequest chunk = ToneChunk();
      bool ok = stream_->Write(config);
      for (int64_t i = 0; ok && i < chunks; ++i) {
        ok = stream_->Write(chunk);
        if (ok) sent_ += 1;
      }
      if (ok) stream_->WritesDone();
    });
  }
  ~SlowReader() {
    context_.TryCancel();
    if (reader_.joinable()) reader_.join();
    writer_.join();
  }
  int64_t chunks_sent() const { return sent_.load(); }
  // Reads a message every `pause` from now on.
  void StartReading(std::chrono::milliseconds pause) {
    reader_ = std::thread([this, pause] {
      v1::StreamResponse response;
      while (stream_->Read(&response)) std::this_thread::sleep_for(pause);
    });
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<Stream> stream_;
  std::atomic<int64_t> sent_{0};
  std::thread writer_, reader_;
};

TEST(ServiceLimits, SlowReadingStreamsHoldBoundedMemoryAndItGoesBackAfterwards) {
  auto server = StartServer({"--models", "tiny"});
  ASSERT_NE(server, nullptr);
  // A client whose transport takes at most 256 KiB per stream that it has not read, so that what
  // the server holds is what is measured (it counts a result as sent once gRPC has taken it).
  auto stub = Connect(server->address(), 256 << 10);
  PredictOptions options;
  options.want_activations = true;
  options.want_embeddings = true;
  const rpc::AnalysisRequest request = Request(Capacity::kTiny, options);
  // Warm the server up with one whole stream, so that the baseline holds what any call needs.
  {
    const test::CallResult warm = test::CallStream(*stub, request, test::TestClip(), {4410});
    ASSERT_TRUE(warm.status.ok()) << warm.status.error_message();
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));  // the housekeeper trims after a second idle
  const int64_t baseline = server->ResidentBytes();
  ASSERT_GT(baseline, 0);

  // Three streams of ten minutes each (6,000 chunks of 100 ms; unbounded, their results alone
  // would be about 150 MiB each), none of them reading at first.
  constexpr int64_t kChunks = 6000;
  std::vector<std::unique_ptr<SlowReader>> streams;
  for (int i = 0; i < 3; ++i) {
    streams.push_back(std::make_unique<SlowReader>(*stub, Config(request, "slow-" + std::to_string(i)), kChunks));
  }
  // Until the server has stopped taking their audio (no progress for two seconds), at most a minute.
  int64_t peak = baseline;
  std::vector<int64_t> last(3, -1);
  int still = 0;
  for (const auto start = Clock::now(); still < 4 && Clock::now() - start < std::chrono::seconds(60);) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    peak = std::max(peak, server->ResidentBytes());
    bool moved = false;
    for (int i = 0; i < 3; ++i) {
      moved = moved || streams[i]->chunks_sent() != last[i];
      last[i] = streams[i]->chunks_sent();
    }
    still = moved ? 0 : still + 1;
  }
  for (int i = 0; i < 3; ++i) {
    // Its window (512 frames, 5 s), one message, and the 1 MiB HTTP/2 window at each end (about 16 s
    // of float32 audio): far less than a minute.
    EXPECT_LT(streams[i]->chunks_sent(), 600) << "stream " << i << ": the server kept reading audio";
    std::printf("stream %d: %lld of %lld chunks taken before the server stopped reading\n", i,
                static_cast<long long>(streams[i]->chunks_sent()), static_cast<long long>(kChunks));
  }
  // Then reading slowly, a message every 20 ms, for five seconds.
  for (auto& s : streams) s->StartReading(std::chrono::milliseconds(20));
  for (int i = 0; i < 10; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    peak = std::max(peak, server->ResidentBytes());
  }
  EXPECT_LT(peak - baseline, 150 * kMiB) << "baseline " << baseline / kMiB << " MiB, peak " << peak / kMiB << " MiB";
  std::printf("resident: baseline %lld MiB, peak %lld MiB\n", static_cast<long long>(baseline / kMiB),
              static_cast<long long>(peak / kMiB));
  streams.clear();  // cancels them

#if !defined(__SANITIZE_THREAD__)  // ThreadSanitizer's own allocator keeps what it frees
  // The memory of the burst goes back to the system once the server is idle.
  int64_t after = server->ResidentBytes();
  for (int i = 0; i < 40 && after - baseline > 32 * kMiB; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    after = server->ResidentBytes();
  }
  EXPECT_LT(after - baseline, 32 * kMiB) << "baseline " << baseline / kMiB << " MiB, after " << after / kMiB
                                         << " MiB, peak " << peak / kMiB << " MiB";
  std::printf("resident after the burst: %lld MiB\n", static_cast<long long>(after / kMiB));
#endif
  EXPECT_TRUE(CallPredict(*stub, test::MakeRequest(Request(Capacity::kTiny), test::TestClip())).status.ok());
}

TEST(ServiceLimits, HundredsOfIdleStreamsFromOneClientDoNotLockOthersOut) {
  auto server = StartServer({"--models", "tiny", "--stream-idle-timeout-s", "600"});  // defaults otherwise
  ASSERT_NE(server, nullptr);
  std::string error;
  auto relay = test::SourceRelay::Start(server->port(), &error);  // another client host: 127.0.0.2
  ASSERT_NE(relay, nullptr) << error;
  auto stub = Connect(server->address());
  // 300 streams that send their config and then nothing, with no deadline.
  struct Idle {
    grpc::ClientContext context;
    std::unique_ptr<Stream> stream;
  };
  std::vector<std::unique_ptr<Idle>> idle;
  for (int i = 0; i < 300; ++i) {
    auto s = std::make_unique<Idle>();
    s->stream = stub->StreamPredict(&s->context);
    ASSERT_TRUE(s->stream->Write(Config(Request(Capacity::kTiny), "idle-" + std::to_string(i))));
    idle.push_back(std::move(s));
  }
  // Every one has been answered: a model for the admitted, a refusal for the rest.
  for (auto& s : idle) s->stream->WaitForInitialMetadata();
  const AudioBuffer one_second{std::vector<float>(16000, 0.1f), 16000, 1};
  const v1::PredictRequest fresh = test::MakeRequest(Request(Capacity::kTiny), one_second);
  // The same client is at its limit...
  const test::CallResult same = CallPredict(*stub, fresh);
  EXPECT_EQ(same.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << same.status.error_message();
  EXPECT_EQ(rpc::FromGrpcStatus(same.status).reason(), "PEER_CALL_LIMIT");
  // ... another one is served.
  auto other = Connect(relay->address());
  const test::CallResult served = CallPredict(*other, fresh);
  EXPECT_TRUE(served.status.ok()) << served.status.error_message();
  for (auto& s : idle) s->context.TryCancel();
  for (auto& s : idle) {
    v1::StreamResponse response;
    while (s->stream->Read(&response)) {
    }
    s->stream->Finish();
  }
  // Their slots are free again.
  const auto until = Clock::now() + std::chrono::seconds(30);
  test::CallResult again = CallPredict(*stub, fresh);
  while (!again.status.ok() && Clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    again = CallPredict(*stub, fresh);
  }
  EXPECT_TRUE(again.status.ok()) << again.status.error_message();
  const std::string log = server->Log();
  EXPECT_NE(log.find("peer=ipv4:127.0.0.2"), std::string::npos) << "the relayed call came from another address";
}

TEST(ServiceLimits, StreamsThatGoQuietAreEnded) {
  auto server = StartServer({"--models", "tiny", "--stream-idle-timeout-s", "1"});
  ASSERT_NE(server, nullptr);
  auto stub = Connect(server->address());
  // A stream that sends its config and then nothing.
  {
    grpc::ClientContext context;
    auto stream = stub->StreamPredict(&context);
    ASSERT_TRUE(stream->Write(Config(Request(Capacity::kTiny), "quiet")));
    v1::StreamResponse response;
    while (stream->Read(&response)) {
    }
    const grpc::Status s = stream->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << s.error_message();
    EXPECT_EQ(rpc::FromGrpcStatus(s).reason(), "STREAM_IDLE");
    EXPECT_NE(s.error_message().find("sent no message"), std::string::npos) << s.error_message();
  }
  // A stream that sends audio and never reads its results: cancelled, as no status could reach it.
  {
    PredictOptions options;
    options.want_activations = true;
    options.want_embeddings = true;
    SlowReader deaf(*stub, Config(Request(Capacity::kTiny, options), "deaf"), 60000);
    const auto until = Clock::now() + std::chrono::seconds(120);
    while (server->Log().find("request \"deaf\"") == std::string::npos && Clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  const std::string log = server->Log();
  EXPECT_NE(log.find("request \"quiet\""), std::string::npos) << log;
  const size_t deaf = log.find("request \"deaf\"");
  ASSERT_NE(deaf, std::string::npos) << log;
  EXPECT_NE(log.find("read none of the stream's results", deaf), std::string::npos) << log.substr(deaf);
  EXPECT_TRUE(test::HealthServing(server->address()));
}

TEST(ServiceLimits, ABatchFaultFailsItsCallWithInternalWhileAnotherCallSucceeds) {
  auto server = StartServer({"--models", "tiny,small", "--test-fail-request-prefix", "fault-"});
  ASSERT_NE(server, nullptr);
  const AudioBuffer& clip = test::TestClip();
  test::CallResult concurrent;
  std::thread other([&] {
    auto own = Connect(server->address());
    concurrent = CallPredict(*own, test::MakeRequest(Request(Capacity::kSmall), clip));
  });
  auto stub = Connect(server->address());
  v1::PredictRequest faulty = test::MakeRequest(Request(Capacity::kTiny), clip);
  faulty.set_request_id("fault-1");
  // A long deadline: the call must end because of the fault, not wait for it.
  const test::CallResult failed = CallPredict(*stub, faulty, std::chrono::milliseconds(600000));
  EXPECT_EQ(failed.status.error_code(), grpc::StatusCode::INTERNAL) << failed.status.error_message();
  EXPECT_EQ(rpc::FromGrpcStatus(failed.status).reason(), "BATCH_FAILED");
  other.join();
  ASSERT_TRUE(concurrent.status.ok()) << concurrent.status.error_message();
  EXPECT_EQ(test::Difference(concurrent.prediction, Expected(Capacity::kSmall, clip, {})), "");
  // The model that failed a batch goes on serving.
  const test::CallResult after = CallPredict(*stub, test::MakeRequest(Request(Capacity::kTiny), clip));
  ASSERT_TRUE(after.status.ok()) << after.status.error_message();
  EXPECT_EQ(test::Difference(after.prediction, Expected(Capacity::kTiny, clip, {})), "");
  EXPECT_NE(server->Log().find("request \"fault-1\""), std::string::npos);
}

TEST(ServiceLimits, SigtermWhileModelsLoadExitsWithoutWaitingForThem) {
  std::string error;
  auto server = test::ServerProcess::Start({}, &error, 180, /*wait_for_serving=*/false);  // all five models
  ASSERT_NE(server, nullptr) << error;
  ASSERT_TRUE(server->Signal(SIGTERM));
  EXPECT_EQ(server->WaitExit(60), 0) << server->Log();
  const std::string log = server->Log();
  EXPECT_NE(log.find("while loading the models"), std::string::npos) << log;
  EXPECT_EQ(log.find("model full ready"), std::string::npos) << "it waited for every model:\n" << log;
}

TEST(ServiceLimits, EveryCallIsLoggedOnceWithItsRealOutcomeAndEscapedIds) {
  auto server = StartServer({"--models", "large"});
  ASSERT_NE(server, nullptr);
  auto stub = Connect(server->address());
  const AudioBuffer& clip = test::TestClip();
  // Refused by validation, with a newline in its id that must not start a log line of its own.
  v1::PredictRequest bad = test::MakeRequest(Request(Capacity::kLarge), clip);
  bad.set_request_id("evil\nrequest \"forged\" -> OK");
  bad.mutable_options()->set_hop_ms(-1);
  EXPECT_EQ(CallPredict(*stub, bad).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // Ended by its deadline (the large model needs seconds for this clip).
  v1::PredictRequest late = test::MakeRequest(Request(Capacity::kLarge), clip);
  late.set_request_id("late");
  EXPECT_EQ(CallPredict(*stub, late, std::chrono::milliseconds(300)).status.error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  // A stream whose client cancels it.
  {
    grpc::ClientContext context;
    auto stream = stub->StreamPredict(&context);
    ASSERT_TRUE(stream->Write(Config(Request(Capacity::kLarge), "gone")));
    ASSERT_TRUE(stream->Write(ToneChunk()));
    v1::StreamResponse response;
    ASSERT_TRUE(stream->Read(&response));  // "started": the server has read the config and its id
    context.TryCancel();
    while (stream->Read(&response)) {
    }
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  // Each call's line appears once the call is over.
  const auto until = Clock::now() + std::chrono::seconds(60);
  std::string log;
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    log = server->Log();
  } while ((log.find("request \"gone\"") == std::string::npos || log.find("request \"late\"") == std::string::npos) &&
           Clock::now() < until);
  const auto line_of = [&](const std::string& id) {
    const size_t at = log.find("request \"" + id + "\"");
    return at == std::string::npos ? std::string() : log.substr(at, log.find('\n', at) - at);
  };
  const std::string evil = line_of("evil\\x0arequest \\\"forged\\\" -> OK");
  EXPECT_NE(evil.find("INVALID_ARGUMENT"), std::string::npos) << log;
  EXPECT_EQ(log.find("\nrequest \"forged\""), std::string::npos) << log;
  EXPECT_NE(line_of("late").find("DEADLINE_EXCEEDED"), std::string::npos) << log;
  EXPECT_NE(line_of("gone").find("CANCELLED: the client cancelled"), std::string::npos) << log;
  EXPECT_NE(line_of("gone").find("priority=interactive"), std::string::npos) << log;
  EXPECT_NE(line_of("late").find("priority=bulk"), std::string::npos) << log;
}

}  // namespace
}  // namespace crepe
