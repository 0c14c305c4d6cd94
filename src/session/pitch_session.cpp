#include "crepe/pitch_session.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "audio/resample_internal.h"
#include "crepe/audio.h"
#include "crepe/capacity.h"
#include "crepe/decode.h"
#include "crepe/frames.h"
#include "crepe/postprocess.h"
#include "session/post_chain.h"

namespace crepe {
namespace {

// Long enough for any clip: only Start() and Time() of this grid are used before the end.
constexpr int64_t kUnboundedSamples = int64_t{1} << 52;

template <typename T>
void EraseFront(std::vector<T>& v, size_t n) {
  v.erase(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(std::min(n, v.size())));
}

}  // namespace

struct PitchSession::State {
  SessionConfig config;
  BinRange range;
  FrameGrid probe;    // Start() and Time() of every frame, before the length is known
  int64_t reach = 0;  // PostProcessingReach: -1 = results wait for the end
  bool keep_all_audio = false;

  // Input and the 16 kHz signal [signal_base, signal_base + signal.size()).
  int64_t input_frames = 0;
  std::unique_ptr<audio_internal::KaiserBestStream> kaiser;
  std::vector<float> pending_input;  // soxr: the whole mono input, resampled at the end
  std::vector<float> signal;
  int64_t signal_base = 0;
  bool finished = false;
  std::optional<FrameGrid> grid;  // the real grid, once the length is known

  // Frames: [0, next_frame) taken; results for [0, received) in; [0, decoded) decoded; [0, released) out.
  int64_t next_frame = 0;
  int64_t received = 0;
  int64_t decoded = 0;
  int64_t released = 0;

  // Per-frame series from frame 0 (small: a few bytes per frame).
  std::vector<float> confidence, frequency, periodicity, loudness;
  // Viterbi: activation rows of frames [decoded, received), whose path is not yet certain.
  std::optional<ViterbiDecoder> viterbi;
  std::vector<float> undecided_rows;
  // Outputs asked for, rows of frames [released, received).
  std::vector<float> activations, embeddings;

  int64_t signal_end() const { return signal_base + static_cast<int64_t>(signal.size()); }
  int64_t embedding_size() const { return int64_t{kEmbeddingRows} * config.embedding_width; }

  Status FeedResampler(std::vector<float> mono, bool final) {
    if (config.sample_rate == kSampleRate) {
      signal.insert(signal.end(), mono.begin(), mono.end());
      return Status::Ok();
    }
    if (config.options.resampler == ResamplerKind::kKaiserBest) {
      CREPE_RETURN_IF_ERROR(kaiser->Push(mono.data(), static_cast<int64_t>(mono.size())));
      return kaiser->Drain(final, signal);
    }
    // libsoxr's output depends on how its input is cut, so a stream is resampled in one go at the
    // end, exactly as a whole clip is.
    pending_input.insert(pending_input.end(), mono.begin(), mono.end());
    if (!final) return Status::Ok();
    CREPE_ASSIGN_OR_RETURN(std::vector<float> resampled,
                           ResampleTo16k(std::move(pending_input), config.sample_rate, config.options.resampler));
    pending_input = {};
    signal.insert(signal.end(), resampled.begin(), resampled.end());
    return Status::Ok();
  }

  // Frames whose window lies inside the signal received so far (all of them once finished).
  int64_t FramesAvailable() const {
    if (grid) return grid->size();
    auto partial = FrameGrid::Make(signal_end(), config.sample_rate, config.options.hop, config.options.center);
    if (!partial.ok()) return 0;
    int64_t n = partial->size();
    while (n > 0 && probe.Start(n - 1) + kFrameLength > signal_end()) --n;
    return n;
  }

  void TrimSignal() {
    if (keep_all_audio) return;
    const int64_t keep_from = std::max<int64_t>(0, probe.Start(next_frame));
    const int64_t stale = keep_from - signal_base;
    // Erase once the stale part is the larger one, so trimming costs O(1) per sample.
    if (stale > 0 && stale >= static_cast<int64_t>(signal.size() / 2)) {
      const int64_t erased = std::min<int64_t>(stale, static_cast<int64_t>(signal.size()));
      EraseFront(signal, static_cast<size_t>(erased));
      signal_base += erased;
    }
  }

  void DecodeRows(const float* rows, const std::vector<int>& bins) {
    for (size_t k = 0; k < bins.size(); ++k) {
      float f = 0, p = 0;
      DecodeAtBin(rows + k * kPitchBins, bins[k], config.options.decoder, range, &f, &p);
      frequency.push_back(f);
      periodicity.push_back(p);
    }
    decoded += static_cast<int64_t>(bins.size());
  }

  // Viterbi: decode whatever part of the path has become certain (all of it at the end).
  Status AdvanceViterbi() {
    const bool last = finished && received == grid->size();
    CREPE_ASSIGN_OR_RETURN(std::vector<int> bins, last ? viterbi->Finish() : viterbi->TakeDecided());
    DecodeRows(undecided_rows.data(), bins);
    EraseFront(undecided_rows, bins.size() * kPitchBins);
    return Status::Ok();
  }
};

PitchSession::PitchSession(std::unique_ptr<State> state) : s_(std::move(state)) {}
PitchSession::~PitchSession() = default;

Result<std::unique_ptr<PitchSession>> PitchSession::Make(const SessionConfig& config) {
  CREPE_RETURN_IF_ERROR(ValidatePredictOptions(config.options));
  if (config.sample_rate < kMinSampleRate || config.sample_rate > kMaxSampleRate) {
    return InvalidArgumentError("unsupported sample rate " + std::to_string(config.sample_rate) + " Hz (supported: " +
                                std::to_string(kMinSampleRate) + " to " + std::to_string(kMaxSampleRate) + " Hz)");
  }
  if (config.channels < 1 || config.channels > kMaxChannels) {
    return InvalidArgumentError("unsupported channel count " + std::to_string(config.channels) + " (supported: 1 to " +
                                std::to_string(kMaxChannels) + ")");
  }
  if (config.options.want_embeddings && config.embedding_width <= 0) {
    return InvalidArgumentError("embeddings asked for, but the model's embedding width is not known");
  }
  try {
    auto s = std::make_unique<State>();
    s->config = config;
    CREPE_ASSIGN_OR_RETURN(s->range, BinRangeFor(config.options.fmin_hz, config.options.fmax_hz));
    CREPE_ASSIGN_OR_RETURN(
        s->probe, FrameGrid::Make(kUnboundedSamples, config.sample_rate, config.options.hop, config.options.center));
    s->reach = internal::PostProcessingReach(config.options.post);
    s->keep_all_audio = config.options.post.silence_db && !config.options.post.silence_reference_db;
    if (config.sample_rate != kSampleRate && config.options.resampler == ResamplerKind::kKaiserBest) {
      CREPE_ASSIGN_OR_RETURN(s->kaiser, audio_internal::KaiserBestStream::Make(config.sample_rate, kSampleRate));
    }
    if (IsViterbi(config.options.decoder)) {
      CREPE_ASSIGN_OR_RETURN(ViterbiDecoder v,
                             ViterbiDecoder::Make(s->range, config.options.decoder == Decoder::kViterbiConfidence));
      s->viterbi.emplace(std::move(v));
    }
    return std::unique_ptr<PitchSession>(new PitchSession(std::move(s)));
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory starting a pitch session");
  }
}

Status PitchSession::PushAudio(const float* interleaved, int64_t frames) {
  State& s = *s_;
  if (s.finished) return FailedPreconditionError("audio pushed after the end of the clip");
  if (frames == 0) return Status::Ok();
  if (frames < 0 || interleaved == nullptr) return InvalidArgumentError("invalid audio chunk");
  if (s.input_frames + frames > kMaxAudioFrames) {
    return InvalidArgumentError("audio longer than the limit of " + std::to_string(kMaxAudioFrames) + " frames");
  }
  const Status valid = ValidateAudio(interleaved, frames, s.config.sample_rate, s.config.channels);
  if (!valid.ok()) {
    return valid.WithContext("audio from frame " + std::to_string(s.input_frames));
  }
  try {
    CREPE_RETURN_IF_ERROR(s.FeedResampler(MixToMono(interleaved, frames, s.config.channels), false));
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory buffering audio");
  }
  s.input_frames += frames;
  return Status::Ok();
}

Status PitchSession::Finish() {
  State& s = *s_;
  if (s.finished) return FailedPreconditionError("the clip was already finished");
  if (s.input_frames == 0) return InvalidArgumentError("no audio (0 frames)");
  try {
    CREPE_RETURN_IF_ERROR(s.FeedResampler({}, true));
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory resampling the clip");
  }
  CREPE_ASSIGN_OR_RETURN(
      s.grid, FrameGrid::Make(s.signal_end(), s.config.sample_rate, s.config.options.hop, s.config.options.center));
  s.finished = true;
  if (s.viterbi && s.received == s.grid->size()) CREPE_RETURN_IF_ERROR(s.AdvanceViterbi());
  return Status::Ok();
}

int64_t PitchSession::frames_ready() const { return std::max<int64_t>(0, s_->FramesAvailable() - s_->next_frame); }

int64_t PitchSession::TakeFrames(float* out, int64_t max_frames, int64_t* first) {
  State& s = *s_;
  *first = s.next_frame;
  const int64_t n = std::min(max_frames, frames_ready());
  const bool gate_now = s.config.options.post.silence_db && s.config.options.post.silence_reference_db;
  for (int64_t i = 0; i < n; ++i) {
    float* frame = out + i * kFrameLength;
    ExtractFrame(s.signal.data(), static_cast<int64_t>(s.signal.size()),
                 s.probe.Start(s.next_frame + i) - s.signal_base, frame);
    if (gate_now) s.loudness.push_back(AWeightedWindowLoudness(frame, *s.config.options.post.silence_reference_db));
    NormaliseFrame(frame);
  }
  s.next_frame += std::max<int64_t>(n, 0);
  s.TrimSignal();
  return std::max<int64_t>(n, 0);
}

Status PitchSession::PushNetworkOutput(int64_t first, int64_t n, const float* activations, const float* embeddings) {
  State& s = *s_;
  if (first != s.received || n < 0 || first + n > s.next_frame || (n > 0 && activations == nullptr)) {
    return InternalError("network output for frames [" + std::to_string(first) + ", " + std::to_string(first + n) +
                         ") does not follow on from frame " + std::to_string(s.received));
  }
  const bool want_embeddings = s.config.options.want_embeddings;
  if (n > 0 && want_embeddings && embeddings == nullptr) return InternalError("embeddings missing");
  try {
    for (int64_t i = 0; i < n; ++i) s.confidence.push_back(MaxActivation(activations + i * kPitchBins));
    if (s.config.options.want_activations) {
      s.activations.insert(s.activations.end(), activations, activations + n * kPitchBins);
    }
    if (want_embeddings) {
      s.embeddings.insert(s.embeddings.end(), embeddings, embeddings + n * s.embedding_size());
    }
    s.received += n;
    if (!s.viterbi) {
      std::vector<int> bins(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) bins[static_cast<size_t>(i)] = ArgmaxBin(activations + i * kPitchBins, s.range);
      s.DecodeRows(activations, bins);
      return Status::Ok();
    }
    s.undecided_rows.insert(s.undecided_rows.end(), activations, activations + n * kPitchBins);
    for (int64_t i = 0; i < n; ++i) {
      const float* row = activations + i * kPitchBins;
      const int bin = ArgmaxBin(row, s.range);
      CREPE_RETURN_IF_ERROR(s.viterbi->Push(bin, row[bin]));
    }
    return s.AdvanceViterbi();
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory keeping the results of " + std::to_string(n) + " frames");
  }
}

Result<Prediction> PitchSession::TakeResults(int64_t* first) {
  State& s = *s_;
  *first = s.released;
  const bool all_decoded = s.finished && s.decoded == s.grid->size();
  int64_t horizon = s.released;
  if (all_decoded) {
    horizon = s.decoded;
  } else if (s.reach >= 0) {
    horizon = std::max(s.released, s.decoded - s.reach);
  }
  Prediction p;
  p.embedding_width = s.config.embedding_width;
  if (horizon == s.released) return p;
  try {
    // Post-process a slice wide enough that the rows released are exactly what the whole clip
    // would give them (a filter's output depends on its half-window only).
    const int64_t lo = s.reach >= 0 ? std::max<int64_t>(0, s.released - s.reach) : 0;
    const int64_t hi = s.decoded;
    std::vector<float> frequency(s.frequency.begin() + lo, s.frequency.begin() + hi);
    std::vector<float> periodicity(s.periodicity.begin() + lo, s.periodicity.begin() + hi);
    std::vector<float> loudness;
    const PostProcessOptions& post = s.config.options.post;
    if (post.silence_db) {
      if (post.silence_reference_db) {
        loudness.assign(s.loudness.begin() + lo, s.loudness.begin() + hi);
      } else {  // the whole clip's loudness against its loudest bin (only at the end)
        loudness = AWeightedLoudness(s.signal.data(), s.signal_end(), *s.grid);
      }
    }
    CREPE_RETURN_IF_ERROR(internal::ApplyPostProcessing(post, loudness, frequency, periodicity));

    const auto count = static_cast<size_t>(horizon - s.released);
    p.time.resize(count);
    for (size_t i = 0; i < count; ++i) p.time[i] = s.probe.Time(s.released + static_cast<int64_t>(i));
    const auto offset = static_cast<std::ptrdiff_t>(s.released - lo);
    p.frequency.assign(frequency.begin() + offset, frequency.begin() + offset + static_cast<std::ptrdiff_t>(count));
    p.periodicity.assign(periodicity.begin() + offset,
                         periodicity.begin() + offset + static_cast<std::ptrdiff_t>(count));
    p.confidence.assign(s.confidence.begin() + s.released, s.confidence.begin() + horizon);
    if (s.config.options.want_activations) {
      p.activations.assign(s.activations.begin(),
                           s.activations.begin() + static_cast<std::ptrdiff_t>(count * kPitchBins));
      EraseFront(s.activations, count * kPitchBins);
    }
    if (s.config.options.want_embeddings) {
      const auto rows = count * static_cast<size_t>(s.embedding_size());
      p.embeddings.assign(s.embeddings.begin(), s.embeddings.begin() + static_cast<std::ptrdiff_t>(rows));
      EraseFront(s.embeddings, rows);
    }
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory preparing results");
  }
  s.released = horizon;
  return p;
}

bool PitchSession::finished() const { return s_->finished; }
bool PitchSession::complete() const { return s_->finished && s_->released == s_->grid->size(); }
int64_t PitchSession::total_frames() const { return s_->grid ? s_->grid->size() : -1; }
int64_t PitchSession::frames_taken() const { return s_->next_frame; }
int64_t PitchSession::frames_released() const { return s_->released; }
int64_t PitchSession::input_frames() const { return s_->input_frames; }
double PitchSession::audio_seconds() const { return static_cast<double>(s_->input_frames) / s_->config.sample_rate; }

}  // namespace crepe
