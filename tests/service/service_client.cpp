#include "service_client.h"

#include <gtest/gtest.h>

#include <cstring>

#include "crepe/predictor.h"
#include "frames_codec.h"
#include "model/model_fixture.h"
#include "support/test_paths.h"

namespace crepe::test {

std::unique_ptr<v1::PitchService::Stub> Connect(const std::string& address, int receive_window_bytes) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(256 << 20);
  args.SetMaxSendMessageSize(256 << 20);
  if (receive_window_bytes > 0) {
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, receive_window_bytes);
  }
  return v1::PitchService::NewStub(grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
}

const AudioBuffer& TestClip() {
  static const AudioBuffer clip = [] {
    auto a = ReadAudioFile(SharedPath("testdata/crepe-reference/test.wav"));
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? *a : AudioBuffer{};
  }();
  return clip;
}

std::unique_ptr<ServerProcess> StartServer(const std::vector<std::string>& args) {
  std::string error;
  auto server = ServerProcess::Start(args, &error);
  EXPECT_NE(server, nullptr) << error;
  return server;
}

rpc::AnalysisRequest Request(Capacity capacity, const PredictOptions& options) {
  rpc::AnalysisRequest r;
  r.capacity = capacity;
  r.options = options;
  r.outputs.activations = options.want_activations;
  r.outputs.embeddings = options.want_embeddings;
  return r;
}

Prediction Expected(Capacity capacity, const AudioBuffer& audio, const PredictOptions& options) {
  Model* model = CpuModel(capacity);
  EXPECT_NE(model, nullptr);
  if (model == nullptr) return {};
  auto p = Predictor(*model).Predict(audio, options);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? *p : Prediction{};
}

v1::Audio PcmAudio(const AudioBuffer& audio) {
  v1::Audio a;
  v1::PcmAudio* pcm = a.mutable_pcm();
  pcm->set_sample_rate_hz(audio.sample_rate);
  pcm->set_channels(audio.channels);
  pcm->set_format(v1::SAMPLE_FORMAT_FLOAT32);
  pcm->set_data(rpc::EncodePcm(audio.samples.data(), audio.samples.size(), v1::SAMPLE_FORMAT_FLOAT32));
  return a;
}

v1::PredictRequest MakeRequest(const rpc::AnalysisRequest& request, const AudioBuffer& audio) {
  v1::PredictRequest r;
  rpc::EncodeOptions(request, r.mutable_options());
  *r.mutable_audio() = PcmAudio(audio);
  return r;
}

CallResult CallPredict(v1::PitchService::Stub& stub, const v1::PredictRequest& request,
                       std::chrono::milliseconds deadline) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + deadline);
  v1::PredictResponse response;
  CallResult result;
  result.status = stub.Predict(&context, request, &response);
  if (result.status.ok()) {
    result.model = response.model();
    const Status s = rpc::AppendFrames(response.frames(), result.prediction);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  return result;
}

CallResult CallStream(v1::PitchService::Stub& stub, const rpc::AnalysisRequest& request, const AudioBuffer& audio,
                      const std::vector<int64_t>& chunks, bool wait_for_early_frames) {
  CallResult result;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(2));
  auto stream = stub.StreamPredict(&context);
  v1::StreamRequest config;
  rpc::EncodeOptions(request, config.mutable_config()->mutable_options());
  config.mutable_config()->set_sample_rate_hz(audio.sample_rate);
  config.mutable_config()->set_channels(audio.channels);
  config.mutable_config()->set_format(v1::SAMPLE_FORMAT_FLOAT32);
  EXPECT_TRUE(stream->Write(config));
  v1::StreamResponse response;
  auto take = [&](const v1::StreamResponse& r) {
    if (r.has_started()) result.model = r.started();
    if (r.has_frames()) {
      const Status s = rpc::AppendFrames(r.frames(), result.prediction);
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
  };
  int64_t pos = 0;
  size_t k = 0;
  bool waited = !wait_for_early_frames;
  while (pos < audio.frames()) {
    const int64_t n = std::min(chunks[k++ % chunks.size()], audio.frames() - pos);
    v1::StreamRequest chunk;
    chunk.set_audio(rpc::EncodePcm(audio.samples.data() + pos * audio.channels, static_cast<size_t>(n * audio.channels),
                                   v1::SAMPLE_FORMAT_FLOAT32));
    if (!stream->Write(chunk)) break;
    pos += n;
    if (!waited && pos >= audio.frames() / 2) {
      while (stream->Read(&response)) {
        take(response);
        if (response.has_frames()) {
          result.messages_before_end += 1;
          break;
        }
      }
      waited = true;
    }
  }
  stream->WritesDone();
  while (stream->Read(&response)) take(response);
  result.status = stream->Finish();
  return result;
}

namespace {
template <typename T>
bool SameBits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}
}  // namespace

std::string Difference(const Prediction& got, const Prediction& want) {
  if (!SameBits(got.time, want.time)) return "time";
  if (!SameBits(got.frequency, want.frequency)) {
    std::string where = "frequency";
    if (got.frequency.size() != want.frequency.size()) return where + " (length)";
    for (size_t i = 0; i < got.frequency.size(); ++i) {
      if (std::memcmp(&got.frequency[i], &want.frequency[i], sizeof(float)) != 0) {
        return where + " at frame " + std::to_string(i) + ": " + std::to_string(got.frequency[i]) + " vs " +
               std::to_string(want.frequency[i]);
      }
    }
  }
  if (!SameBits(got.confidence, want.confidence)) return "confidence";
  if (!SameBits(got.periodicity, want.periodicity)) return "periodicity";
  if (!SameBits(got.activations, want.activations)) return "activations";
  if (!SameBits(got.embeddings, want.embeddings)) return "embeddings";
  return "";
}

}  // namespace crepe::test
