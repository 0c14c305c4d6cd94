// crepe-livelat: the latency of live streams on crepe-server. N streams send audio in real time
// (a chunk every --chunk-ms, paced by the clock) and read their results as they come; the latency
// of a frame is the time from sending the chunk that completes its 1024-sample window to
// receiving the frame, measured here, on the client, so it includes both directions of the
// connection (loopback in bench/run_latency_bench.sh). Frames are decoded with WEIGHTED_ARGMAX
// and no post-processing, so that a frame is final as soon as its network output is in: what is
// measured is the service's own delay, not the decoder's.
//
//   crepe-livelat --server HOST:PORT [--streams 4] [--duration-s 30] [--warmup-s 3] [--model tiny]
//                 [--priority interactive|bulk] [--chunk-ms 20] [--audio FILE] [--json FILE]
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "crepe/audio.h"
#include "crepe/capacity.h"
#include "crepe/v1/pitch.grpc.pb.h"
#include "request_codec.h"
#include "status_mapping.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace crepe;

struct Options {
  std::string server;
  int streams = 4;
  double duration_s = 30;
  double warmup_s = 3;
  std::string model = "tiny";
  std::string priority = "interactive";
  int chunk_ms = 20;
  std::string audio = "/work/shared/testdata/crepe-reference/test.wav";
  std::string json;
};

struct StreamResult {
  std::vector<double> latency_ms;  // frames after the warm-up
  int64_t frames = 0;
  std::string error;
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * static_cast<double>(v.size())));
  return v[i];
}

StreamResult RunStream(v1::PitchService::Stub& stub, const Options& o, const std::vector<float>& audio16k, int index) {
  StreamResult result;
  const int64_t chunk = 16000LL * o.chunk_ms / 1000;
  const auto chunks = static_cast<int64_t>(o.duration_s * 1000 / o.chunk_ms);
  std::vector<std::atomic<int64_t>> sent_ns(static_cast<size_t>(chunks));
  grpc::ClientContext context;
  auto stream = stub.StreamPredict(&context);

  rpc::AnalysisRequest request;
  request.capacity = *ParseCapacity(o.model);
  request.options.decoder = Decoder::kWeightedArgmax;  // final as soon as its output is in
  v1::StreamRequest config;
  rpc::EncodeOptions(request, config.mutable_config()->mutable_options());
  config.mutable_config()->mutable_options()->mutable_post();  // present and empty: no post-processing
  config.mutable_config()->set_sample_rate_hz(16000);
  config.mutable_config()->set_format(v1::SAMPLE_FORMAT_FLOAT32);
  config.mutable_config()->set_request_id("live-" + std::to_string(index));
  config.mutable_config()->set_priority(o.priority == "bulk" ? v1::PRIORITY_BULK : v1::PRIORITY_INTERACTIVE);

  const auto start = Clock::now();
  std::thread writer([&] {
    bool ok = stream->Write(config);
    std::vector<float> piece(static_cast<size_t>(chunk));
    for (int64_t k = 0; ok && k < chunks; ++k) {
      std::this_thread::sleep_until(start + std::chrono::milliseconds(o.chunk_ms * (k + 1)));
      for (int64_t i = 0; i < chunk; ++i) {
        piece[static_cast<size_t>(i)] = audio16k[static_cast<size_t>((k * chunk + i) % static_cast<int64_t>(audio16k.size()))];
      }
      v1::StreamRequest message;
      message.set_audio(rpc::EncodePcm(piece.data(), piece.size(), v1::SAMPLE_FORMAT_FLOAT32));
      sent_ns[static_cast<size_t>(k)] = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                            Clock::now().time_since_epoch()).count();
      ok = stream->Write(message);
    }
    if (ok) stream->WritesDone();
  });
  v1::StreamResponse response;
  const auto warm = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        (start + std::chrono::duration<double>(o.warmup_s)).time_since_epoch()).count();
  while (stream->Read(&response)) {
    if (!response.has_frames()) continue;
    const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
    const v1::PitchFrames& f = response.frames();
    for (int64_t i = 0; i < f.time_s_size(); ++i) {
      const int64_t frame = f.first_frame() + i;
      const int64_t last_sample = frame * 160 + 512 - 1;  // the window's last sample (centred, 10 ms hop)
      const int64_t k = last_sample / chunk;
      result.frames += 1;
      if (k >= chunks) continue;  // completed by the end padding
      const int64_t sent = sent_ns[static_cast<size_t>(k)].load();
      if (sent < warm || sent == 0) continue;
      result.latency_ms.push_back(static_cast<double>(now - sent) / 1e6);
    }
  }
  writer.join();
  const Status s = rpc::FromGrpcStatus(stream->Finish());
  if (!s.ok()) result.error = s.ToString();
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"crepe-livelat: latency of live streams on crepe-server"};
  app.add_option("--server", o.server, "HOST:PORT")->required();
  app.add_option("--streams", o.streams)->check(CLI::Range(1, 256))->capture_default_str();
  app.add_option("--duration-s", o.duration_s)->check(CLI::Range(1.0, 3600.0))->capture_default_str();
  app.add_option("--warmup-s", o.warmup_s, "Frames sent before this are not counted")->capture_default_str();
  app.add_option("--model", o.model)->capture_default_str();
  app.add_option("--priority", o.priority)->check(CLI::IsMember({"interactive", "bulk"}))->capture_default_str();
  app.add_option("--chunk-ms", o.chunk_ms)->check(CLI::Range(1, 1000))->capture_default_str();
  app.add_option("--audio", o.audio)->capture_default_str();
  app.add_option("--json", o.json, "Write the figures here too");
  CLI11_PARSE(app, argc, argv);
  if (!ParseCapacity(o.model).ok()) {
    std::fprintf(stderr, "crepe-livelat: unknown model %s\n", o.model.c_str());
    return 2;
  }
  auto audio = ReadAudioFile(o.audio);
  if (!audio.ok()) {
    std::fprintf(stderr, "crepe-livelat: %s\n", audio.status().ToString().c_str());
    return 1;
  }
  auto audio16k = ResampleTo16k(MixToMono(audio->samples.data(), audio->frames(), audio->channels),
                                audio->sample_rate, ResamplerKind::kKaiserBest);
  if (!audio16k.ok()) {
    std::fprintf(stderr, "crepe-livelat: %s\n", audio16k.status().ToString().c_str());
    return 1;
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  auto stub = v1::PitchService::NewStub(grpc::CreateCustomChannel(o.server, grpc::InsecureChannelCredentials(), args));
  std::vector<StreamResult> results(static_cast<size_t>(o.streams));
  std::vector<std::thread> threads;
  for (int i = 0; i < o.streams; ++i) {
    threads.emplace_back([&, i] { results[static_cast<size_t>(i)] = RunStream(*stub, o, *audio16k, i); });
  }
  for (auto& t : threads) t.join();
  std::vector<double> all;
  int64_t frames = 0;
  int errors = 0;
  for (const StreamResult& r : results) {
    all.insert(all.end(), r.latency_ms.begin(), r.latency_ms.end());
    frames += r.frames;
    if (!r.error.empty()) {
      ++errors;
      std::fprintf(stderr, "crepe-livelat: a stream failed: %s\n", r.error.c_str());
    }
  }
  double mean = 0;
  for (double v : all) mean += v / static_cast<double>(std::max<size_t>(all.size(), 1));
  const double p50 = Percentile(all, 50), p90 = Percentile(all, 90), p99 = Percentile(all, 99),
               max = all.empty() ? 0 : *std::max_element(all.begin(), all.end());
  std::printf("streams=%d priority=%s model=%s chunk_ms=%d frames=%lld measured=%zu errors=%d "
              "latency_ms p50=%.1f p90=%.1f p99=%.1f max=%.1f mean=%.1f\n",
              o.streams, o.priority.c_str(), o.model.c_str(), o.chunk_ms, static_cast<long long>(frames), all.size(),
              errors, p50, p90, p99, max, mean);
  if (!o.json.empty()) {
    std::ofstream j(o.json);
    j << "{\"streams\": " << o.streams << ", \"priority\": \"" << o.priority << "\", \"model\": \"" << o.model
      << "\", \"chunk_ms\": " << o.chunk_ms << ", \"duration_s\": " << o.duration_s << ", \"frames\": " << frames
      << ", \"measured\": " << all.size() << ", \"errors\": " << errors << ", \"p50_ms\": " << p50
      << ", \"p90_ms\": " << p90 << ", \"p99_ms\": " << p99 << ", \"max_ms\": " << max << ", \"mean_ms\": " << mean
      << "}\n";
  }
  return errors == 0 ? 0 : 1;
}
