// crepe-server through gRPC, on loopback with the real weights: its results equal the core's
// Predictor (what crepe-predict runs) bit for bit, streams equal unary calls, concurrent calls
// share batches, bad requests get the right code and leave the server healthy, deadlines,
// cancellation and shutdown behave.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "crepe/predictor.h"
#include "model/model_fixture.h"
#include "service_client.h"
#include "status_mapping.h"
#include "support/fixtures.h"
#include "support/server_process.h"

namespace crepe {
namespace {

using test::CallPredict;
using test::CallStream;
using test::Connect;
using test::TestClip;

using test::Expected;
using test::Request;
using test::StartServer;

TEST(Service, EveryCapacityEqualsThePredictor) {
  auto server = StartServer({});
  ASSERT_NE(server, nullptr);
  auto stub = Connect(server->address());
  const AudioBuffer& clip = TestClip();
  // The larger capacities on the clip's first 3 s (300 frames): on a CPU they take most of this
  // test's time, and equality holds frame by frame.
  AudioBuffer opening = clip;
  opening.samples.resize(static_cast<size_t>(3 * clip.sample_rate * clip.channels));
  for (Capacity capacity : kAllCapacities) {
    const AudioBuffer& audio = capacity == Capacity::kTiny || capacity == Capacity::kSmall ? clip : opening;
    PredictOptions options;
    options.decoder = capacity == Capacity::kTiny ? Decoder::kViterbi : Decoder::kWeightedArgmax;
    options.want_embeddings = capacity == Capacity::kSmall;
    const test::CallResult got = CallPredict(*stub, test::MakeRequest(Request(capacity, options), audio));
    ASSERT_TRUE(got.status.ok()) << got.status.error_message();
    EXPECT_EQ(got.model.name(), CapacityName(capacity));
    EXPECT_EQ(got.model.weights_sha256(), test::CpuModel(capacity)->info().weights_sha256);
    EXPECT_EQ(test::Difference(got.prediction, Expected(capacity, audio, options)), "") << CapacityName(capacity);
  }
}

// --frame-cutting device (the default on CUDA) on the CPU: calls hand the batcher windows of audio
// and the model cuts and normalises them (as tensor code, on a GPU there). Results equal the
// Predictor's up to the rounding of the normalisation's sums: the same bins, frequencies within
// 1e-5, activations within 1e-5; streams and unary calls alike.
TEST(Service, FramesCutByTheModelEqualThePredictor) {
  auto server = StartServer({"--models", "tiny", "--frame-cutting", "device", "--max-batch", "96"});
  ASSERT_NE(server, nullptr);
  auto stub = Connect(server->address());
  const AudioBuffer& audio = TestClip();
  std::vector<PredictOptions> cases(2);
  cases[0].decoder = Decoder::kViterbi;
  cases[0].want_activations = true;
  cases[1].hop = HopSpec::Samples(441);
  cases[1].post.silence_db = -60;
  cases[1].post.silence_reference_db = 0;
  auto near = [](const std::vector<float>& got, const std::vector<float>& want, double tolerance) {
    if (got.size() != want.size()) return false;
    for (size_t i = 0; i < got.size(); ++i) {
      const bool both_nan = std::isnan(got[i]) && std::isnan(want[i]);
      if (!both_nan && !(std::abs(got[i] - want[i]) <= tolerance * std::max(1.0f, std::abs(want[i])))) return false;
    }
    return true;
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const rpc::AnalysisRequest request = Request(Capacity::kTiny, cases[i]);
    const Prediction want = Expected(Capacity::kTiny, audio, cases[i]);
    const test::CallResult unary = CallPredict(*stub, test::MakeRequest(request, audio));
    const test::CallResult stream = CallStream(*stub, request, audio, {4410, 333, 20000}, false);
    for (const test::CallResult* got : {&unary, &stream}) {
      ASSERT_TRUE(got->status.ok()) << got->status.error_message();
      EXPECT_EQ(got->prediction.time, want.time) << "case " << i;
      EXPECT_TRUE(near(got->prediction.frequency, want.frequency, 1e-5)) << "case " << i;
      EXPECT_TRUE(near(got->prediction.confidence, want.confidence, 1e-5)) << "case " << i;
      EXPECT_TRUE(near(got->prediction.activations, want.activations, 1e-5)) << "case " << i;
    }
  }
}

// Each case as a unary call and as a stream, all at once (so that their frames share batches),
// against the Predictor bit for bit (tiny, the test clip).
void ExpectCallsAtOnceEqualThePredictor(v1::PitchService::Stub& stub, const std::vector<PredictOptions>& cases) {
  const AudioBuffer& audio = TestClip();
  std::vector<test::CallResult> unary(cases.size()), stream(cases.size());
  std::vector<std::thread> calls;
  for (size_t i = 0; i < cases.size(); ++i) {
    calls.emplace_back([&, i] {
      const rpc::AnalysisRequest request = Request(Capacity::kTiny, cases[i]);
      unary[i] = CallPredict(stub, test::MakeRequest(request, audio));
      stream[i] = CallStream(stub, request, audio, {4410, 333, 20000}, false);
    });
  }
  for (std::thread& t : calls) t.join();
  for (size_t i = 0; i < cases.size(); ++i) {
    const Prediction want = Expected(Capacity::kTiny, audio, cases[i]);
    for (const test::CallResult* got : {&unary[i], &stream[i]}) {
      ASSERT_TRUE(got->status.ok()) << got->status.error_message();
      EXPECT_EQ(test::Difference(got->prediction, want), "") << "case " << i;
    }
  }
}

// --frame-summaries device (the default on CUDA) on the CPU: the model summarises each frame
// (most active bin within the call's range, confidence, local average) and brings the activations
// back only for calls that need them (asked for, or Viterbi). Results equal the Predictor's bit for
// bit, also when calls with different ranges and decoders share batches.
TEST(Service, FramesSummarisedByTheModelEqualThePredictor) {
  auto server = StartServer({"--models", "tiny", "--frame-cutting", "host", "--frame-summaries", "device",
                             "--max-batch", "96", "--batch-delay-ms", "50"});
  ASSERT_NE(server, nullptr);
  auto stub = Connect(server->address());
  std::vector<PredictOptions> cases(5);
  cases[1].decoder = Decoder::kArgmax;
  cases[1].fmin_hz = 100;
  cases[1].fmax_hz = 400;
  cases[2].fmin_hz = 150;  // weighted_argmax within a range
  cases[2].fmax_hz = 900;
  cases[3].decoder = Decoder::kViterbi;  // needs its activation rows
  cases[3].fmax_hz = 500;
  cases[4].want_activations = true;
  cases[4].want_embeddings = true;
  ExpectCallsAtOnceEqualThePredictor(*stub, cases);
}

// --viterbi-decoding device (the default on CUDA) on the CPU: each Viterbi call's scores and
// undecided rows stay with the model, the forward steps of a batch's calls run together there,
// and only the decided frames come back. Results equal the Predictor's bit for bit, for both
// Viterbi decoders, with ranges, with activations asked for, uncentred (a stream whose end may
// come after all its frames ran), and alongside a call decoded from summaries.
TEST(Service, ViterbiDecidedByTheModelEqualsThePredictor) {
  auto server = StartServer({"--models", "tiny", "--frame-cutting", "device", "--viterbi-decoding", "device",
                             "--max-batch", "96", "--batch-delay-ms", "20"});
  ASSERT_NE(server, nullptr);
  auto stub = Connect(server->address());
  const AudioBuffer& audio = TestClip();
  std::vector<PredictOptions> cases(5);
  cases[0].decoder = Decoder::kViterbi;
  cases[1].decoder = Decoder::kViterbiConfidence;
  cases[1].fmin_hz = 100;
  cases[1].fmax_hz = 700;
  cases[2].decoder = Decoder::kViterbi;
  cases[2].want_activations = true;
  cases[2].post.periodicity_median_window = 3;
  cases[3].decoder = Decoder::kViterbiConfidence;
  cases[3].center = false;
  cases[3].hop = HopSpec::Milliseconds(7.3);
  cases[4].fmin_hz = 150;  // weighted_argmax, from summaries
  ExpectCallsAtOnceEqualThePredictor(*stub, cases);
  // A stream's decided frames come back before its end.
  PredictOptions viterbi;
  viterbi.decoder = Decoder::kViterbi;
  const test::CallResult early = CallStream(*stub, Request(Capacity::kTiny, viterbi), audio, {1600}, true);
  ASSERT_TRUE(early.status.ok()) << early.status.error_message();
  EXPECT_GT(early.messages_before_end, 0);
  EXPECT_EQ(test::Difference(early.prediction, Expected(Capacity::kTiny, audio, viterbi)), "");
}

TEST(Service, RaggedStreamsEqualUnaryAndSendFramesEarly) {
  auto server = StartServer({"--models", "tiny"});
  ASSERT_NE(server, nullptr);
  auto stub = Connect(server->address());
  const AudioBuffer& audio = TestClip();
  std::vector<PredictOptions> cases(3);
  cases[1].decoder = Decoder::kViterbi;
  cases[1].post.periodicity_median_window = 3;
  cases[1].post.threshold = 0.4f;
  cases[1].post.silence_db = -60;
  cases[1].post.silence_reference_db = 0;
  cases[1].want_activations = true;
  cases[2].post.hysteresis = HysteresisOptions{};  // held to the end, still equal
  cases[2].hop = HopSpec::Samples(441);
  for (size_t i = 0; i < cases.size(); ++i) {
    const rpc::AnalysisRequest request = Request(Capacity::kTiny, cases[i]);
    const test::CallResult unary = CallPredict(*stub, test::MakeRequest(request, audio));
    ASSERT_TRUE(unary.status.ok()) << unary.status.error_message();
    const test::CallResult stream = CallStream(*stub, request, audio, {1, 4410, 7, 333, 20000, 2}, i < 2);
    ASSERT_TRUE(stream.status.ok()) << stream.status.error_message();
    EXPECT_EQ(test::Difference(stream.prediction, unary.prediction), "") << "case " << i;
    EXPECT_EQ(stream.model.weights_sha256(), unary.model.weights_sha256());
    if (i < 2) {
      EXPECT_GE(stream.messages_before_end, 1) << "case " << i << ": no frames before the end";
    }
  }
}

TEST(Service, ConcurrentClientsGetSequentialResultsFromSharedBatches) {
  // A long flush delay makes the batcher wait for frames from several calls.
  auto server = StartServer({"--models", "tiny", "--batch-delay-ms", "50", "--max-batch", "512"});
  ASSERT_NE(server, nullptr);
  const AudioBuffer& clip = TestClip();
  std::vector<AudioBuffer> inputs;
  for (int i = 0; i < 16; ++i) {  // different pieces of the clip, so mix-ups would show
    const int64_t start = 11025 * i, frames = 44100 * 2 + 3000 * i;
    inputs.push_back(AudioBuffer{
        std::vector<float>(clip.samples.begin() + start, clip.samples.begin() + start + frames), clip.sample_rate, 1});
  }
  auto stub = Connect(server->address());
  std::vector<Prediction> sequential;
  for (const AudioBuffer& a : inputs) {
    const test::CallResult r = CallPredict(*stub, test::MakeRequest(Request(Capacity::kTiny), a));
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
    sequential.push_back(r.prediction);
  }
  v1::ListModelsResponse before;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub->ListModels(&context, {}, &before).ok());
  }
  std::vector<test::CallResult> concurrent(inputs.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < inputs.size(); ++i) {
    threads.emplace_back([&, i] {
      auto own = Connect(server->address());  // a client each
      concurrent[i] = CallPredict(*own, test::MakeRequest(Request(Capacity::kTiny), inputs[i]));
    });
  }
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < inputs.size(); ++i) {
    ASSERT_TRUE(concurrent[i].status.ok()) << concurrent[i].status.error_message();
    EXPECT_EQ(test::Difference(concurrent[i].prediction, sequential[i]), "") << "client " << i;
  }
  v1::ListModelsResponse after;
  grpc::ClientContext context;
  ASSERT_TRUE(stub->ListModels(&context, {}, &after).ok());
  ASSERT_EQ(after.models_size(), 1);
  const v1::ModelStatus& m = after.models(0);
  EXPECT_GT(m.batches_shared(), before.models(0).batches_shared()) << "no batch held frames of two calls";
  EXPECT_GT(m.largest_batch(), 256) << "batches never grew past one call's share";
  int64_t frames = 0;
  for (const Prediction& p : sequential) frames += p.frames();
  EXPECT_EQ(m.frames_processed() - before.models(0).frames_processed(), frames);
}

struct BadCase {
  std::string name;
  v1::PredictRequest request;
  grpc::StatusCode code;
  std::string message;  // a part the message must contain
  std::string reason;   // the google.rpc.ErrorInfo reason, or none
};

std::vector<BadCase> BadCases() {
  const AudioBuffer audio{std::vector<float>(16000, 0.1f), 16000, 1};
  const v1::PredictRequest good = test::MakeRequest(Request(Capacity::kTiny), audio);
  std::vector<BadCase> cases;
  auto add = [&](const std::string& name, auto mutate, grpc::StatusCode code, const std::string& message,
                 const std::string& reason = "") {
    v1::PredictRequest r = good;
    mutate(r);
    cases.push_back({name, r, code, message, reason});
  };
  using C = grpc::StatusCode;
  add(
      "model unset", [](auto& r) { r.mutable_options()->set_model(v1::CAPACITY_UNSPECIFIED); }, C::INVALID_ARGUMENT,
      "model is not set");
  add(
      "unknown model", [](auto& r) { r.mutable_options()->set_model(static_cast<v1::Capacity>(42)); },
      C::INVALID_ARGUMENT, "unknown model");
  add(
      "model not loaded", [](auto& r) { r.mutable_options()->set_model(v1::CAPACITY_FULL); }, C::NOT_FOUND,
      "not loaded");
  add(
      "zero hop", [](auto& r) { r.mutable_options()->set_hop_ms(0); }, C::INVALID_ARGUMENT, "hop");
  add(
      "negative hop", [](auto& r) { r.mutable_options()->set_hop_samples(-5); }, C::INVALID_ARGUMENT, "hop");
  add(
      "fmin above fmax",
      [](auto& r) {
        r.mutable_options()->set_fmin_hz(900);
        r.mutable_options()->set_fmax_hz(100);
      },
      C::INVALID_ARGUMENT, "fmin");
  add(
      "even median window", [](auto& r) { r.mutable_options()->mutable_post()->set_periodicity_median_window(4); },
      C::INVALID_ARGUMENT, "odd");
  add(
      "threshold above 1", [](auto& r) { r.mutable_options()->mutable_post()->set_voicing_threshold(2); },
      C::INVALID_ARGUMENT, "threshold");
  add(
      "threshold and hysteresis",
      [](auto& r) {
        r.mutable_options()->mutable_post()->set_voicing_threshold(0.5f);
        r.mutable_options()->mutable_post()->mutable_hysteresis();
      },
      C::INVALID_ARGUMENT, "alternatives");
  add(
      "unknown decoder", [](auto& r) { r.mutable_options()->set_decoder(static_cast<v1::Decoder>(7)); },
      C::INVALID_ARGUMENT, "decoder");
  add(
      "absurd sample rate", [](auto& r) { r.mutable_audio()->mutable_pcm()->set_sample_rate_hz(10); },
      C::INVALID_ARGUMENT, "sample_rate_hz");
  add(
      "too many channels", [](auto& r) { r.mutable_audio()->mutable_pcm()->set_channels(100); }, C::INVALID_ARGUMENT,
      "channels");
  add(
      "format unset", [](auto& r) { r.mutable_audio()->mutable_pcm()->set_format(v1::SAMPLE_FORMAT_UNSPECIFIED); },
      C::INVALID_ARGUMENT, "format");
  add(
      "partial sample", [](auto& r) { r.mutable_audio()->mutable_pcm()->mutable_data()->append("x"); },
      C::INVALID_ARGUMENT, "whole frames");
  add(
      "NaN sample",
      [](auto& r) {
        const float nan = NAN;
        r.mutable_audio()->mutable_pcm()->mutable_data()->replace(400, 4, reinterpret_cast<const char*>(&nan), 4);
      },
      C::INVALID_ARGUMENT, "NaN");
  add(
      "empty PCM", [](auto& r) { r.mutable_audio()->mutable_pcm()->clear_data(); }, C::INVALID_ARGUMENT, "empty");
  add(
      "no audio", [](auto& r) { r.clear_audio(); }, C::INVALID_ARGUMENT, "no audio");
  add(
      "corrupt file", [](auto& r) { r.mutable_audio()->set_encoded("RIFF....WAVEfmt garbage"); }, C::INVALID_ARGUMENT,
      "cannot decode");
  add(
      "empty file", [](auto& r) { r.mutable_audio()->set_encoded(""); }, C::INVALID_ARGUMENT, "empty");
  add(
      "too short without centring",
      [](auto& r) {
        r.mutable_options()->set_center(false);
        r.mutable_audio()->mutable_pcm()->mutable_data()->resize(400 * 4);
      },
      C::INVALID_ARGUMENT, "shorter than one");
  add(
      "unknown format", [](auto& r) { r.mutable_audio()->mutable_pcm()->set_format(static_cast<v1::SampleFormat>(9)); },
      C::INVALID_ARGUMENT, "unknown PCM sample format 9");
  add(
      "truncated file",
      [](auto& r) {
        std::string wav = test::WavBytes(std::vector<float>(16000, 0.1f), 16000, 1, false);
        wav.resize(wav.size() / 2);  // the header still declares the whole second
        r.mutable_audio()->set_encoded(wav);
      },
      C::INVALID_ARGUMENT, "truncated");
  // gRPC's own refusal of a request over the receive limit carries no detail; the server's refusal
  // of a response that would be too large says so in its ErrorInfo.
  add(
      "oversized message", [](auto& r) { r.mutable_audio()->mutable_pcm()->mutable_data()->resize(3u << 20); },
      C::RESOURCE_EXHAUSTED, "");
  add(
      "oversized response",
      [](auto& r) {
        r.mutable_audio()->mutable_pcm()->mutable_data()->resize(16000 * 10 * 4);  // 10 s of silence
        r.mutable_options()->mutable_outputs()->set_activations(true);
        r.mutable_options()->mutable_outputs()->set_embeddings(true);
      },
      C::RESOURCE_EXHAUSTED, "use StreamPredict", "RESPONSE_TOO_LARGE");
  return cases;
}

TEST(Service, BadRequestsGetTheRightCodeAndTheServerStaysHealthy) {
  auto server = StartServer({"--models", "tiny", "--max-message-mb", "2"});
  ASSERT_NE(server, nullptr);
  auto stub = Connect(server->address());
  for (const BadCase& c : BadCases()) {
    const test::CallResult r = CallPredict(*stub, c.request);
    EXPECT_EQ(r.status.error_code(), c.code) << c.name << ": " << r.status.error_message();
    EXPECT_NE(r.status.error_message().find(c.message), std::string::npos)
        << c.name << ": " << r.status.error_message();
    EXPECT_EQ(rpc::FromGrpcStatus(r.status).reason(), c.reason) << c.name;
  }
  // Streams: audio before the config, a second config, no audio at all, a bad chunk.
  auto stream_status = [&](const std::vector<v1::StreamRequest>& messages) {
    grpc::ClientContext context;
    auto stream = stub->StreamPredict(&context);
    for (const auto& m : messages) stream->Write(m);
    stream->WritesDone();
    v1::StreamResponse response;
    while (stream->Read(&response)) {
    }
    return stream->Finish();
  };
  v1::StreamRequest config;
  rpc::EncodeOptions(Request(Capacity::kTiny), config.mutable_config()->mutable_options());
  config.mutable_config()->set_sample_rate_hz(16000);
  config.mutable_config()->set_format(v1::SAMPLE_FORMAT_INT16);
  v1::StreamRequest audio;
  audio.set_audio(std::string(3200, '\1'));
  v1::StreamRequest odd;
  odd.set_audio(std::string(3, '\1'));
  // A NaN in the second float32 message is located from the start of the stream.
  v1::StreamRequest float_config = config;
  float_config.mutable_config()->set_format(v1::SAMPLE_FORMAT_FLOAT32);
  std::vector<float> samples(1600, 0.25f);
  v1::StreamRequest clean, with_nan;
  clean.set_audio(rpc::EncodePcm(samples.data(), samples.size(), v1::SAMPLE_FORMAT_FLOAT32));
  samples[100] = NAN;
  with_nan.set_audio(rpc::EncodePcm(samples.data(), samples.size(), v1::SAMPLE_FORMAT_FLOAT32));
  struct StreamCase {
    std::string name;
    std::vector<v1::StreamRequest> messages;
    std::string message;
  };
  for (const StreamCase& c : std::vector<StreamCase>{{"audio first", {audio, config}, "first message"},
                                                     {"two configs", {config, config}, "only audio"},
                                                     {"no audio", {config}, "no audio"},
                                                     {"odd bytes", {config, odd}, "whole frames"},
                                                     {"NaN", {float_config, clean, with_nan}, "at frame 1700"},
                                                     {"nothing", {}, "before its config"}}) {
    const grpc::Status s = stream_status(c.messages);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.name << ": " << s.error_message();
    EXPECT_NE(s.error_message().find(c.message), std::string::npos) << c.name << ": " << s.error_message();
  }
  EXPECT_TRUE(test::HealthServing(server->address()));
  const AudioBuffer tone{std::vector<float>(16000, 0.0f), 16000, 1};
  EXPECT_TRUE(CallPredict(*stub, test::MakeRequest(Request(Capacity::kTiny), tone)).status.ok());
}

TEST(Service, QueueBoundGivesResourceExhausted) {
  // Each call reserves its window (2 x 256 frames on the CPU) of the model's 1500-frame queue
  // when it starts: two fit, a third is refused with QUEUE_FULL until one ends.
  auto server = StartServer({"--models", "medium", "--max-queued-frames", "1500"});
  ASSERT_NE(server, nullptr);
  std::vector<float> samples(16000 * 10);
  for (size_t i = 0; i < samples.size(); ++i) samples[i] = static_cast<float>(0.3 * std::sin(0.1 * i));
  const AudioBuffer ten_seconds{samples, 16000, 1};  // 1001 frames
  const AudioBuffer thirty_seconds{std::vector<float>(16000 * 30, 0.1f), 16000, 1};
  auto stub = Connect(server->address());
  // A clip larger than the whole queue goes through it a window at a time.
  const test::CallResult long_clip = CallPredict(*stub, test::MakeRequest(Request(Capacity::kMedium), thirty_seconds));
  EXPECT_TRUE(long_clip.status.ok()) << long_clip.status.error_message();
  EXPECT_EQ(long_clip.prediction.frames(), 3001);
  std::vector<test::CallResult> results(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      auto own = Connect(server->address());
      results[i] = CallPredict(*own, test::MakeRequest(Request(Capacity::kMedium), ten_seconds));
    });
  }
  for (auto& t : threads) t.join();
  int ok = 0, exhausted = 0;
  for (const auto& r : results) {
    ok += r.status.ok();
    if (r.status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      exhausted += 1;
      EXPECT_NE(r.status.error_message().find("queue is full"), std::string::npos) << r.status.error_message();
      EXPECT_EQ(rpc::FromGrpcStatus(r.status).reason(), "QUEUE_FULL") << "no google.rpc.ErrorInfo detail";
    }
  }
  EXPECT_GE(ok, 1);
  EXPECT_GE(exhausted, 1);
  EXPECT_EQ(ok + exhausted, 4);
  EXPECT_TRUE(test::HealthServing(server->address()));
}

TEST(Service, DeadlinesAndCancellationDropTheWork) {
  auto server = StartServer({"--models", "large"});
  ASSERT_NE(server, nullptr);
  auto stub = Connect(server->address());
  const AudioBuffer& audio = TestClip();
  const test::CallResult late =
      CallPredict(*stub, test::MakeRequest(Request(Capacity::kLarge), audio), std::chrono::milliseconds(300));
  EXPECT_EQ(late.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << late.status.error_message();

  // A stream the client cancels half-way.
  grpc::ClientContext context;
  auto stream = stub->StreamPredict(&context);
  v1::StreamRequest config;
  rpc::EncodeOptions(Request(Capacity::kLarge), config.mutable_config()->mutable_options());
  config.mutable_config()->set_sample_rate_hz(audio.sample_rate);
  config.mutable_config()->set_format(v1::SAMPLE_FORMAT_FLOAT32);
  ASSERT_TRUE(stream->Write(config));
  v1::StreamRequest chunk;
  chunk.set_audio(rpc::EncodePcm(audio.samples.data(), 44100 * 3, v1::SAMPLE_FORMAT_FLOAT32));
  ASSERT_TRUE(stream->Write(chunk));
  context.TryCancel();
  v1::StreamResponse response;
  while (stream->Read(&response)) {
  }
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);

  // The server is healthy, and the abandoned work was dropped: the batcher runs only what a new
  // call needs once it is idle again.
  EXPECT_TRUE(test::HealthServing(server->address()));
  std::this_thread::sleep_for(std::chrono::seconds(3));
  v1::ListModelsResponse models;
  grpc::ClientContext c1;
  ASSERT_TRUE(stub->ListModels(&c1, {}, &models).ok());
  EXPECT_EQ(models.models(0).queued_frames(), 0);
  EXPECT_LT(models.models(0).frames_processed(), 1001 + 301) << "cancelled work kept running";
  const AudioBuffer short_clip{std::vector<float>(16000, 0.1f), 16000, 1};
  EXPECT_TRUE(CallPredict(*stub, test::MakeRequest(Request(Capacity::kLarge), short_clip)).status.ok());
  const std::string log = server->Log();
  EXPECT_NE(log.find("CANCELLED"), std::string::npos) << log;
}

TEST(Service, ShutdownLetsCallsInProgressFinish) {
  auto server = StartServer({"--models", "small", "--shutdown-grace-s", "300"});
  ASSERT_NE(server, nullptr);
  const AudioBuffer& audio = TestClip();
  const Prediction expected = Expected(Capacity::kSmall, audio, {});
  std::vector<test::CallResult> results(3);
  std::atomic<int> started{0};
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      auto own = Connect(server->address());
      started += 1;
      results[i] = CallPredict(*own, test::MakeRequest(Request(Capacity::kSmall), audio));
    });
  }
  while (started < 3) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the calls are in progress
  ASSERT_TRUE(server->Signal(SIGTERM));
  for (auto& t : threads) t.join();
  for (const auto& r : results) {
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
    EXPECT_EQ(test::Difference(r.prediction, expected), "");
  }
  EXPECT_EQ(server->WaitExit(60), 0) << server->Log();
  // At least one call was still running when the signal came, and finished after it.
  const std::string log = server->Log();
  const size_t signal_at = log.find("SIGTERM");
  ASSERT_NE(signal_at, std::string::npos) << log;
  EXPECT_NE(log.find("model=small frames=1001", signal_at), std::string::npos) << log;
}

}  // namespace
}  // namespace crepe
