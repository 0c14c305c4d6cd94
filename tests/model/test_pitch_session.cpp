// PitchSession, the incremental pipeline the service runs: cut anyhow, batched anyhow, its
// concatenated results equal Predictor::Predict's bit for bit, for every decoder and
// post-processing, and results come out before the end where they can.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "crepe/audio.h"
#include "crepe/pitch_session.h"
#include "crepe/predictor.h"
#include "model_fixture.h"

namespace crepe {
namespace {

struct SessionRun {
  Prediction result;
  int64_t released_before_end = 0;  // frames whose results came out before Finish()
};

// How RunSession runs the network.
enum class NetworkMode {
  kActivations,  // activations come back, the session decodes
  kSummarized,   // the model summarises the frames (as on a GPU in the server) and hands back
                 // activations only where the session needs them
  // Summarised, and a Viterbi decoder's paths decided by the model (ViterbiRequest), the end of
  // the stream in the part with its last frames...
  kViterbiOnModel,
  kViterbiOnModelEndAlone,  // ... or in a part of its own, with no frames
};

// Feeds `audio` in chunks of the given sizes (cycled), runs the network `batch` frames at a
// time as frames become ready, and collects the results.
SessionRun RunSession(Model& model, const AudioBuffer& audio, const PredictOptions& options,
                      const std::vector<int64_t>& chunks, int64_t batch, NetworkMode mode = NetworkMode::kActivations) {
  static uint64_t next_stream = 1;
  const uint64_t stream = next_stream++;
  const bool summarized = mode != NetworkMode::kActivations;
  const bool viterbi_on_model = IsViterbi(options.decoder) &&
                                (mode == NetworkMode::kViterbiOnModel || mode == NetworkMode::kViterbiOnModelEndAlone);
  bool ended = false;  // the model has had the stream's last part
  SessionRun run;
  SessionConfig config{audio.sample_rate, audio.channels, options, model.info().embedding_width};
  config.viterbi_elsewhere = viterbi_on_model;
  auto made = PitchSession::Make(config);
  EXPECT_TRUE(made.ok()) << made.status().ToString();
  if (!made.ok()) return run;
  PitchSession& session = **made;
  std::vector<float> frames(static_cast<size_t>(batch) * kFrameLength);
  std::vector<float> act(static_cast<size_t>(batch) * kPitchBins);
  std::vector<float> emb(static_cast<size_t>(batch) * kEmbeddingRows * model.info().embedding_width);
  auto pump = [&](bool drain_all) {
    while (session.frames_ready() >= (drain_all ? 1 : batch)) {
      int64_t first = 0;
      const int64_t n = session.TakeFrames(frames.data(), batch, &first);
      float* embeddings = options.want_embeddings ? emb.data() : nullptr;
      if (!summarized) {
        ASSERT_TRUE(model.Infer(frames.data(), n, act.data(), embeddings).ok());
        ASSERT_TRUE(session.PushNetworkOutput(first, n, act.data(), embeddings).ok());
        continue;
      }
      const std::vector<BinRange> ranges(static_cast<size_t>(n), session.bin_range());
      std::vector<FrameSummary> summaries(ranges.size());
      const SummaryRequest ask{ranges.data(), summaries.data()};
      float* activations = session.needs_activation_rows() ? act.data() : nullptr;
      std::vector<std::vector<FrameSummary>> decided;
      ViterbiRequest viterbi{{{stream, options.decoder, session.bin_range(), first, 0, n, false}}, {}, &decided};
      viterbi.parts[0].last = mode == NetworkMode::kViterbiOnModel && session.finished() && session.frames_ready() == 0;
      ended = ended || viterbi.parts[0].last;
      ASSERT_TRUE(
          model.Infer(frames.data(), n, activations, embeddings, &ask, viterbi_on_model ? &viterbi : nullptr).ok());
      ASSERT_TRUE(session.PushSummarizedOutput(first, n, summaries.data(), activations, embeddings).ok());
      if (viterbi_on_model) {
        ASSERT_TRUE(session.PushDecidedFrames(decided[0].data(), static_cast<int64_t>(decided[0].size())).ok());
      }
    }
    if (viterbi_on_model && drain_all && !ended) {
      std::vector<std::vector<FrameSummary>> decided;
      const ViterbiRequest end{
          {{stream, options.decoder, session.bin_range(), session.frames_taken(), 0, 0, true}}, {}, &decided};
      ASSERT_TRUE(model.Infer(nullptr, 0, nullptr, nullptr, nullptr, &end).ok());
      ASSERT_TRUE(session.PushDecidedFrames(decided[0].data(), static_cast<int64_t>(decided[0].size())).ok());
      ended = true;
    }
    int64_t first = 0;
    auto r = session.TakeResults(&first);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(first, run.result.frames());
    run.result.Append(std::move(*r));
  };
  int64_t pos = 0;
  size_t c = 0;
  while (pos < audio.frames()) {
    const int64_t n = std::min(chunks[c++ % chunks.size()], audio.frames() - pos);
    EXPECT_TRUE(session.PushAudio(audio.samples.data() + pos * audio.channels, n).ok());
    pos += n;
    pump(false);
  }
  run.released_before_end = run.result.frames();
  EXPECT_TRUE(session.Finish().ok());
  pump(true);
  EXPECT_TRUE(session.complete());
  return run;
}

// Bitwise equality, NaN included.
template <typename T>
bool SameBits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

void ExpectSame(const Prediction& got, const Prediction& want, const std::string& what) {
  EXPECT_TRUE(SameBits(got.time, want.time)) << what << " time";
  EXPECT_TRUE(SameBits(got.frequency, want.frequency)) << what << " frequency";
  EXPECT_TRUE(SameBits(got.confidence, want.confidence)) << what << " confidence";
  EXPECT_TRUE(SameBits(got.periodicity, want.periodicity)) << what << " periodicity";
  EXPECT_TRUE(SameBits(got.activations, want.activations)) << what << " activations";
  EXPECT_TRUE(SameBits(got.embeddings, want.embeddings)) << what << " embeddings";
}

const AudioBuffer& TestClip() {
  static const AudioBuffer audio = [] {
    auto a = ReadAudioFile(test::SharedPath("testdata/crepe-reference/test.wav"));
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? *a : AudioBuffer{};
  }();
  return audio;
}

struct Case {
  std::string name;
  PredictOptions options;
  bool early;  // results expected before the end
};

std::vector<Case> Cases() {
  std::vector<Case> cases;
  PredictOptions o;
  cases.push_back({"weighted_argmax", o, true});
  o.decoder = Decoder::kArgmax;
  o.want_activations = o.want_embeddings = true;
  cases.push_back({"argmax_with_tensors", o, true});
  o = {};
  o.decoder = Decoder::kViterbi;
  cases.push_back({"viterbi", o, true});
  o.decoder = Decoder::kViterbiConfidence;
  cases.push_back({"viterbi_confidence", o, true});
  o.decoder = Decoder::kViterbi;
  o.fmin_hz = 100;
  o.fmax_hz = 800;
  o.hop = HopSpec::Samples(441);
  o.post.periodicity_median_window = 3;
  o.post.threshold = 0.5f;
  o.post.pitch_mean_window = 5;
  o.post.silence_db = -60;
  o.post.silence_reference_db = 0;
  cases.push_back({"viterbi_filters_fixed_gate", o, true});
  o = {};
  o.decoder = Decoder::kViterbi;
  o.post.periodicity_median_window = 3;
  o.post.threshold = 0.4f;
  o.post.silence_db = -60;
  o.post.silence_reference_db = 0;
  o.want_activations = true;
  cases.push_back({"viterbi_median_threshold_gate", o, true});
  o = {};
  o.post.hysteresis = HysteresisOptions{};
  o.post.silence_db = -60;
  o.center = false;
  o.hop = HopSpec::Milliseconds(7.3);
  cases.push_back({"hysteresis_relative_gate_uncentred", o, false});
  o = {};
  o.resampler = ResamplerKind::kSoxrVhq;
  cases.push_back({"soxr", o, false});
  return cases;
}

TEST(PitchSession, RaggedChunksAndBatchesEqualTheWholeClip) {
  Model* model = test::CpuModel(Capacity::kTiny);
  ASSERT_NE(model, nullptr);
  const AudioBuffer& audio = TestClip();
  ASSERT_GT(audio.frames(), 0);
  Predictor predictor(*model);
  for (const Case& c : Cases()) {
    auto want = predictor.Predict(audio, c.options);
    ASSERT_TRUE(want.ok()) << c.name << ": " << want.status().ToString();
    // One piece (the service's unary path), its frames summarised by the model (the server's way on
    // a GPU), then ragged pieces with odd batch sizes.
    const SessionRun whole = RunSession(*model, audio, c.options, {audio.frames()}, 256, NetworkMode::kSummarized);
    ExpectSame(whole.result, *want, c.name + " whole, summarised by the model");
    const SessionRun ragged = RunSession(*model, audio, c.options, {1, 4410, 7, 333, 20000, 2}, 37);
    ExpectSame(ragged.result, *want, c.name + " ragged");
    if (IsViterbi(c.options.decoder)) {
      // The model decides the paths (the server's way on a GPU), the end with the last frames or alone.
      const SessionRun on_model =
          RunSession(*model, audio, c.options, {1, 4410, 7, 333, 20000, 2}, 37, NetworkMode::kViterbiOnModel);
      ExpectSame(on_model.result, *want, c.name + " ragged, Viterbi on the model");
      EXPECT_GT(on_model.released_before_end, want->frames() / 2) << c.name;
      ExpectSame(
          RunSession(*model, audio, c.options, {audio.frames()}, 256, NetworkMode::kViterbiOnModelEndAlone).result,
          *want, c.name + " whole, Viterbi on the model, the end alone");
    }
    if (c.early) {
      EXPECT_GT(ragged.released_before_end, want->frames() / 2) << c.name;
    } else {
      EXPECT_EQ(ragged.released_before_end, 0) << c.name;
    }
  }
}

TEST(PitchSession, StereoInt16RangeAnd16kInput) {
  Model* model = test::CpuModel(Capacity::kTiny);
  ASSERT_NE(model, nullptr);
  std::vector<float> stereo;
  for (int i = 0; i < 16000; ++i) {
    const auto v = static_cast<float>(0.4 * std::sin(2 * M_PI * 220.0 * i / 16000));
    stereo.push_back(v);
    stereo.push_back(-0.5f * v);
  }
  AudioBuffer audio{stereo, 16000, 2};
  PredictOptions o;
  o.decoder = Decoder::kViterbi;
  auto want = Predictor(*model).Predict(audio, o);
  ASSERT_TRUE(want.ok());
  ExpectSame(RunSession(*model, audio, o, {100, 1000, 3}, 5).result, *want, "stereo 16k");
}

TEST(PitchSession, RejectsBadInputClearly) {
  SessionConfig config;
  config.sample_rate = 44100;
  auto made = PitchSession::Make(config);
  ASSERT_TRUE(made.ok());
  PitchSession& s = **made;
  const float bad[] = {0.0f, NAN};
  Status st = s.PushAudio(bad, 2);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("NaN"), std::string::npos) << st.message();
  EXPECT_EQ(s.Finish().code(), StatusCode::kInvalidArgument);  // nothing valid was pushed

  config.sample_rate = 10;
  EXPECT_EQ(PitchSession::Make(config).status().code(), StatusCode::kInvalidArgument);
  config.sample_rate = 16000;
  config.options.post.periodicity_median_window = 4;
  EXPECT_EQ(PitchSession::Make(config).status().code(), StatusCode::kInvalidArgument);
  config.options = {};
  config.options.want_embeddings = true;  // without the model's embedding width
  EXPECT_EQ(PitchSession::Make(config).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace crepe
