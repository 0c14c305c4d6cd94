// A stand-in for a model's network behind server::NetworkRunner, for the batcher's and jobs'
// unit tests: it records what every batch held, can hold a batch until the test lets it go, can
// fail chosen batches, and answers each frame with a one-hot activation at a bin read from the
// frame itself (so a test can tell which frame an output row belongs to). With Viterbi on, it
// decides Viterbi calls' paths as a network on a GPU would (ViterbiRequest), here with the CPU
// decoder: one ViterbiDecoder and the undecided rows per stream.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "crepe/capacity.h"
#include "network_runner.h"

namespace crepe::test {

// Frames a batcher test builds by hand carry a tag and an index in their first two samples.
inline void TagFrame(float* frame, int tag, int64_t index) {
  frame[0] = static_cast<float>(tag);
  frame[1] = static_cast<float>(index);
}

class FakeNetwork final : public server::NetworkRunner {
 public:
  struct Batch {
    std::vector<std::pair<int, int64_t>> frames;  // (tag, index) of each row
    bool failed = false;
    bool activations = false;  // the batcher asked for activations
    bool summaries = false;    // and for summaries
    std::vector<ViterbiPart> viterbi_parts;
    std::vector<uint64_t> forgotten;
  };

  Status Run(const float* frames, int64_t n, float* activations, float* embeddings, const SummaryRequest* summaries,
             const ViterbiRequest* viterbi) override {
    std::unique_lock<std::mutex> lock(mutex_);
    const size_t number = batches_.size();
    Batch batch;
    for (int64_t i = 0; i < n; ++i) {
      const float* f = frames + i * kFrameLength;
      batch.frames.emplace_back(static_cast<int>(f[0]), static_cast<int64_t>(f[1]));
    }
    batch.failed = fail_.count(number) > 0;
    batch.activations = activations != nullptr;
    batch.summaries = summaries != nullptr;
    if (viterbi != nullptr) {
      batch.viterbi_parts = viterbi->parts;
      batch.forgotten = viterbi->forget;
    }
    batches_.push_back(batch);
    running_ = true;
    changed_.notify_all();
    changed_.wait(lock, [&] { return !held_; });
    running_ = false;
    changed_.notify_all();
    if (batch.failed) throw std::runtime_error("fake failure of batch " + std::to_string(number));
    std::vector<float> scratch(kPitchBins), rows;
    for (int64_t i = 0; i < n; ++i) {
      float* row = activations != nullptr ? activations + i * kPitchBins : scratch.data();
      std::fill(row, row + kPitchBins, 0.0f);
      const auto bin = static_cast<int64_t>(std::abs(frames[i * kFrameLength + 2]) * 100) % kPitchBins;
      row[bin] = 0.9f;
      if (summaries != nullptr) summaries->summaries[i] = SummarizeFrame(row, summaries->ranges[i]);
      if (embeddings != nullptr) {
        std::fill(embeddings + i * kEmbeddingRows * kWidth, embeddings + (i + 1) * kEmbeddingRows * kWidth,
                  frames[i * kFrameLength]);
      }
      if (viterbi != nullptr) rows.insert(rows.end(), row, row + kPitchBins);
    }
    if (viterbi != nullptr) return DecideViterbi(rows, summaries, *viterbi);
    return Status::Ok();
  }
  // With windows on, the batcher hands windows of audio (as to a network that cuts on its
  // device); the fake copies each window as it is, so its tag survives.
  Status RunWindows(const float* samples, int64_t num_samples, const int64_t* starts, int64_t n, float* activations,
                    float* embeddings, const SummaryRequest* summaries, const ViterbiRequest* viterbi) override {
    std::vector<float> frames(static_cast<size_t>(n) * kFrameLength);
    for (int64_t i = 0; i < n; ++i) {
      if (starts[i] < 0 || starts[i] + kFrameLength > num_samples) throw std::runtime_error("window out of range");
      std::copy_n(samples + starts[i], kFrameLength, frames.begin() + i * kFrameLength);
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++window_batches_;
    }
    return Run(frames.data(), n, activations, embeddings, summaries, viterbi);
  }
  bool cuts_on_device() const override { return windows_; }
  void SetWindows(bool on) { windows_ = on; }
  // With summaries on, the batcher asks for frame summaries (as of a network on a GPU).
  bool summarizes_on_device() const override { return summaries_; }
  void SetSummaries(bool on) { summaries_ = on; }
  // With Viterbi on (and summaries), Viterbi calls' paths are decided here.
  bool decodes_viterbi() const override { return viterbi_; }
  void SetViterbi(bool on) { viterbi_ = summaries_ = on; }
  size_t open_streams() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return streams_.size();
  }
  int window_batches() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return window_batches_;
  }
  int embedding_width() const override { return kWidth; }
  std::string name() const override { return "fake"; }

  // Batches start but do not finish until Release().
  void Hold() {
    std::lock_guard<std::mutex> lock(mutex_);
    held_ = true;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mutex_);
    held_ = false;
    changed_.notify_all();
  }
  // Waits until `count` batches have started (false after 60 s, which only a broken batcher takes).
  bool WaitForBatches(size_t count) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(60), [&] { return batches_.size() >= count; });
  }
  void FailBatch(size_t number) {
    std::lock_guard<std::mutex> lock(mutex_);
    fail_.insert(number);
  }
  std::vector<Batch> batches() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return batches_;
  }
  int64_t frames_run() const {
    std::lock_guard<std::mutex> lock(mutex_);
    int64_t n = 0;
    for (const Batch& b : batches_) n += static_cast<int64_t>(b.frames.size());
    return n;
  }

  static constexpr int kWidth = 8;

 private:
  struct Stream {
    ViterbiDecoder decoder;
    std::vector<float> rows;  // undecided
    int64_t frames = 0;
  };
  // The parts in order (a stream's parts follow on from each other); frames decided at their
  // path's bins, as ViterbiRequest::decided. Called with mutex_ held (from Run).
  Status DecideViterbi(const std::vector<float>& rows, const SummaryRequest* summaries, const ViterbiRequest& request) {
    request.decided->assign(request.parts.size(), {});
    for (size_t k = 0; k < request.parts.size(); ++k) {
      const ViterbiPart& p = request.parts[k];
      auto it = streams_.find(p.stream);
      if (it == streams_.end()) {
        if (p.frame != 0)
          return InternalError("a Viterbi part from frame " + std::to_string(p.frame) + " of a new stream");
        it = streams_
                 .emplace(p.stream,
                          std::make_unique<Stream>(
                              Stream{*ViterbiDecoder::Make(p.range, p.decoder == Decoder::kViterbiConfidence), {}, 0}))
                 .first;
      }
      Stream& s = *it->second;
      if (p.frame != s.frames) return InternalError("a Viterbi part out of order");
      for (int64_t i = p.row; i < p.row + p.count; ++i) {
        const FrameSummary& f = summaries->summaries[i];
        CREPE_RETURN_IF_ERROR(s.decoder.Push(f.bin, f.bin_activation));
        s.rows.insert(s.rows.end(), rows.begin() + i * kPitchBins, rows.begin() + (i + 1) * kPitchBins);
      }
      s.frames += p.count;
      CREPE_ASSIGN_OR_RETURN(std::vector<int> bins, p.last ? s.decoder.Finish() : s.decoder.TakeDecided());
      for (size_t t = 0; t < bins.size(); ++t) {
        const float* row = s.rows.data() + t * kPitchBins;
        (*request.decided)[k].push_back(
            FrameSummary{bins[t], row[bins[t]], 0, LocalAverageCents(row, bins[t], p.range)});
      }
      s.rows.erase(s.rows.begin(), s.rows.begin() + static_cast<std::ptrdiff_t>(bins.size() * kPitchBins));
      if (p.last) streams_.erase(it);
    }
    for (uint64_t id : request.forget) streams_.erase(id);
    return Status::Ok();
  }

  std::map<uint64_t, std::unique_ptr<Stream>> streams_;
  bool viterbi_ = false;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Batch> batches_;
  std::set<size_t> fail_;
  bool held_ = false;
  bool running_ = false;
  bool windows_ = false;
  bool summaries_ = false;
  int window_batches_ = 0;
};

}  // namespace crepe::test
