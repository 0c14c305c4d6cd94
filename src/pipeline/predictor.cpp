#include "crepe/predictor.h"

#include <algorithm>
#include <memory>
#include <new>
#include <string>

#include "crepe/capacity.h"
#include "crepe/pitch_session.h"

namespace crepe {
namespace {

Status ValidateAudioBuffer(const AudioBuffer& audio) {
  if (audio.channels > 0 && audio.samples.size() % static_cast<size_t>(audio.channels) != 0) {
    return InvalidArgumentError(std::to_string(audio.samples.size()) + " samples do not make whole frames of " +
                                std::to_string(audio.channels) + " channels");
  }
  return ValidateAudio(audio.samples.data(), audio.frames(), audio.sample_rate, audio.channels);
}

// A session holding the whole clip, ready for its frames to be taken.
Result<std::unique_ptr<PitchSession>> WholeClipSession(const AudioBuffer& audio, const PredictOptions& options,
                                                       int embedding_width) {
  CREPE_RETURN_IF_ERROR(ValidatePredictOptions(options));
  CREPE_RETURN_IF_ERROR(ValidateAudioBuffer(audio));
  CREPE_ASSIGN_OR_RETURN(std::unique_ptr<PitchSession> session,
                         PitchSession::Make({audio.sample_rate, audio.channels, options, embedding_width, true}));
  CREPE_RETURN_IF_ERROR(session->PushAudio(audio.samples.data(), audio.frames()));
  CREPE_RETURN_IF_ERROR(session->Finish());
  return session;
}

// Takes every frame of `session` in batches of up to `batch`, has `run` fill in their outputs,
// and collects the results.
template <typename RunBatch>
Result<Prediction> Drive(PitchSession& session, int64_t batch, int embedding_width, bool embeddings,
                         const RunBatch& run, const ProgressCallback& progress) {
  const int64_t total = session.total_frames();
  const auto rows = static_cast<size_t>(std::min(batch, std::max<int64_t>(total, 1)));
  std::vector<float> frames(rows * kFrameLength), activations(rows * kPitchBins);
  std::vector<float> embedding_rows(embeddings ? rows * kEmbeddingRows * static_cast<size_t>(embedding_width) : 0);
  Prediction p;
  p.embedding_width = embedding_width;
  while (!session.complete()) {
    int64_t first = 0;
    const int64_t n = session.TakeFrames(frames.data(), static_cast<int64_t>(rows), &first);
    if (n == 0) return InternalError("the session has no frames left but is not complete");
    CREPE_RETURN_IF_ERROR(
        run(frames.data(), first, n, activations.data(), embeddings ? embedding_rows.data() : nullptr));
    CREPE_RETURN_IF_ERROR(
        session.PushNetworkOutput(first, n, activations.data(), embeddings ? embedding_rows.data() : nullptr));
    int64_t released_from = 0;
    CREPE_ASSIGN_OR_RETURN(Prediction released, session.TakeResults(&released_from));
    p.Append(std::move(released));
    if (progress) progress(first + n, total);
  }
  return p;
}

}  // namespace

Result<Prediction> Predictor::Predict(const AudioBuffer& audio, const PredictOptions& options,
                                      const ProgressCallback& progress) {
  try {
    const int width = model_.info().embedding_width;
    CREPE_ASSIGN_OR_RETURN(std::unique_ptr<PitchSession> session, WholeClipSession(audio, options, width));
    auto run = [this](const float* frames, int64_t, int64_t n, float* activations, float* embeddings) {
      return model_.Infer(frames, n, activations, embeddings);
    };
    return Drive(*session, options.batch_frames, width, options.want_embeddings, run, progress);
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory for " + std::to_string(audio.frames()) + " audio frames");
  }
}

Result<Prediction> PredictFromActivations(const AudioBuffer& audio, const PredictOptions& options,
                                          std::vector<float> activations) {
  if (options.want_embeddings) return InvalidArgumentError("embeddings cannot be computed from activations");
  try {
    CREPE_ASSIGN_OR_RETURN(std::unique_ptr<PitchSession> session, WholeClipSession(audio, options, 0));
    const int64_t total = session->total_frames();
    if (activations.size() != static_cast<size_t>(total) * kPitchBins) {
      return InvalidArgumentError("the activations hold " + std::to_string(activations.size() / kPitchBins) +
                                  " frames of 360 (" + std::to_string(activations.size()) +
                                  " values) but this audio with these hop and centring options has " +
                                  std::to_string(total) + " frames");
    }
    for (float v : activations) {
      if (!(v >= 0.0f && v <= 1.0f)) return InvalidArgumentError("activations must be finite and within [0, 1]");
    }
    // The frames are cut (the silence gate measures them) but never run: the recorded rows stand in.
    auto recorded = [&](const float*, int64_t first, int64_t n, float* out, float*) {
      std::copy_n(activations.data() + first * kPitchBins, n * kPitchBins, out);
      return Status::Ok();
    };
    return Drive(*session, options.batch_frames, 0, false, recorded, nullptr);
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory for " + std::to_string(audio.frames()) + " audio frames");
  }
}

}  // namespace crepe
