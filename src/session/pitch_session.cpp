#include "crepe/pitch_session.h"

#include <new>
#include <string>
#include <utility>

#include "crepe/audio.h"
#include "session/frame_side.h"
#include "session/result_side.h"

namespace crepe {

struct PitchSession::State {
  SessionConfig config;
  std::unique_ptr<internal::FrameSide> frames;
  std::unique_ptr<internal::ResultSide> results;
  std::vector<float> loudness;  // scratch: loudness of the frames just cut
  Status failed;                // a failure in TakeFrames, reported by the next call that can

  // Outputs may come only for frames already taken.
  Status CheckTaken(int64_t first, int64_t n) const {
    if (first + n <= frames->frames_taken()) return Status::Ok();
    return InternalError("network output for frames [" + std::to_string(first) + ", " + std::to_string(first + n) +
                         ") that were never taken (" + std::to_string(frames->frames_taken()) + " were)");
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
    CREPE_ASSIGN_OR_RETURN(s->frames, internal::FrameSide::Make(config));
    CREPE_ASSIGN_OR_RETURN(s->results, internal::ResultSide::Make(config));
    return std::unique_ptr<PitchSession>(new PitchSession(std::move(s)));
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory starting a pitch session");
  }
}

Status PitchSession::PushAudio(const float* interleaved, int64_t frames) {
  return s_->frames->PushAudio(interleaved, frames);
}

Status PitchSession::Finish() {
  State& s = *s_;
  CREPE_RETURN_IF_ERROR(s.frames->Finish());
  try {
    return s.results->SetEnd(s.frames->total_frames(), s.frames->ClipLoudness());
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory measuring the clip's loudness");
  }
}

int64_t PitchSession::frames_ready() const { return s_->frames->frames_ready(); }

int64_t PitchSession::TakeFrames(float* out, int64_t max_frames, int64_t* first) {
  State& s = *s_;
  s.loudness.clear();
  const int64_t n = s.frames->TakeFrames(out, max_frames, first, &s.loudness);
  if (!s.loudness.empty() && s.failed.ok()) s.failed = s.results->AddLoudness(s.loudness);
  return n;
}

int64_t PitchSession::TakeWindows(std::vector<float>* samples, std::vector<int64_t>* starts, int64_t max_frames,
                                  int64_t* first) {
  State& s = *s_;
  s.loudness.clear();
  const int64_t n = s.frames->TakeWindows(samples, starts, max_frames, first, &s.loudness);
  if (!s.loudness.empty() && s.failed.ok()) s.failed = s.results->AddLoudness(s.loudness);
  return n;
}

Status PitchSession::PushNetworkOutput(int64_t first, int64_t n, const float* activations, const float* embeddings) {
  CREPE_RETURN_IF_ERROR(s_->failed);
  CREPE_RETURN_IF_ERROR(s_->CheckTaken(first, n));
  return s_->results->PushNetworkOutput(first, n, activations, embeddings);
}

Status PitchSession::PushSummarizedOutput(int64_t first, int64_t n, const FrameSummary* summaries,
                                          const float* activations, const float* embeddings) {
  CREPE_RETURN_IF_ERROR(s_->failed);
  CREPE_RETURN_IF_ERROR(s_->CheckTaken(first, n));
  return s_->results->PushSummarizedOutput(first, n, summaries, activations, embeddings);
}

Status PitchSession::PushDecidedFrames(const FrameSummary* decided, int64_t n) {
  CREPE_RETURN_IF_ERROR(s_->failed);
  return s_->results->PushDecidedFrames(decided, n);
}

bool PitchSession::needs_activation_rows() const { return s_->results->needs_activation_rows(); }
BinRange PitchSession::bin_range() const { return s_->results->range(); }

Result<Prediction> PitchSession::TakeResults(int64_t* first) { return s_->results->TakeResults(first); }

bool PitchSession::finished() const { return s_->frames->finished(); }
bool PitchSession::complete() const { return s_->results->complete(); }
int64_t PitchSession::total_frames() const { return s_->frames->total_frames(); }
int64_t PitchSession::frames_taken() const { return s_->frames->frames_taken(); }
int64_t PitchSession::frames_released() const { return s_->results->released(); }
int64_t PitchSession::input_frames() const { return s_->frames->input_frames(); }
double PitchSession::audio_seconds() const {
  return static_cast<double>(s_->frames->input_frames()) / s_->config.sample_rate;
}
int64_t PitchSession::held_bytes() const { return s_->frames->held_bytes() + s_->results->held_bytes(); }

}  // namespace crepe
