// What a FrameBatcher runs its batches on: the network of one model. An interface so that the
// batcher's concurrency is unit-tested against a fake (tests/unit/fake_network.h) without
// LibTorch; the server adapts crepe::Model (model_registry.cpp).
#pragma once

#include <cstdint>
#include <string>

#include "crepe/decode.h"
#include "crepe/status.h"

namespace crepe::server {

class NetworkRunner {
 public:
  virtual ~NetworkRunner() = default;
  // frames: n x 1024 normalised samples. activations: n x 360 (out), or null when `summaries`
  // is given and no frame's activations are needed on the host. embeddings: n x 32 x
  // embedding_width() (out), or null when no frame of the batch asked for them. summaries: only
  // for a runner that summarizes_on_device(), or null. viterbi: only for a runner that
  // decodes_viterbi(), or null: the Viterbi calls' parts of the batch (n may then be 0, for
  // parts that only end a call) and the calls abandoned since. Called from one batcher thread
  // at a time; may throw (the batcher fails the batch's calls).
  virtual Status Run(const float* frames, int64_t n, float* activations, float* embeddings,
                     const SummaryRequest* summaries, const ViterbiRequest* viterbi) = 0;
  // The same for frames given as windows of 16 kHz audio, not normalised: frame i is the 1024
  // samples of `samples` from starts[i]. A runner that cuts on its device overrides this (and
  // cuts_on_device); the default cuts and normalises here, then calls Run.
  virtual Status RunWindows(const float* samples, int64_t num_samples, const int64_t* starts, int64_t n,
                            float* activations, float* embeddings, const SummaryRequest* summaries,
                            const ViterbiRequest* viterbi);
  // Whether callers should hand this runner windows (RunWindows) rather than cut frames.
  virtual bool cuts_on_device() const { return false; }
  // Whether the batcher should ask for frame summaries (decode.h) computed where the network
  // runs, and the activations only for calls that need them on the host.
  virtual bool summarizes_on_device() const { return false; }
  // Whether Viterbi calls' paths are decided where the network runs (Run's `viterbi`), so that
  // their activations stay there; implies summarizes_on_device().
  virtual bool decodes_viterbi() const { return false; }
  virtual int embedding_width() const = 0;
  virtual std::string name() const = 0;  // for messages, e.g. "tiny"
};

}  // namespace crepe::server
