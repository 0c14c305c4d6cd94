// A stand-in for a model's network behind server::NetworkRunner, for the batcher's and jobs'
// unit tests: it records what every batch held, can hold a batch until the test lets it go, can
// fail chosen batches, and answers each frame with a one-hot activation at a bin read from the
// frame itself (so a test can tell which frame an output row belongs to).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <algorithm>
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
  };

  Status Run(const float* frames, int64_t n, float* activations, float* embeddings,
             const SummaryRequest* summaries) override {
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
    batches_.push_back(batch);
    running_ = true;
    changed_.notify_all();
    changed_.wait(lock, [&] { return !held_; });
    running_ = false;
    changed_.notify_all();
    if (batch.failed) throw std::runtime_error("fake failure of batch " + std::to_string(number));
    std::vector<float> scratch(kPitchBins);
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
    }
    return Status::Ok();
  }
  // With windows on, the batcher hands windows of audio (as to a network that cuts on its
  // device); the fake copies each window as it is, so its tag survives.
  Status RunWindows(const float* samples, int64_t num_samples, const int64_t* starts, int64_t n, float* activations,
                    float* embeddings, const SummaryRequest* summaries) override {
    std::vector<float> frames(static_cast<size_t>(n) * kFrameLength);
    for (int64_t i = 0; i < n; ++i) {
      if (starts[i] < 0 || starts[i] + kFrameLength > num_samples) throw std::runtime_error("window out of range");
      std::copy_n(samples + starts[i], kFrameLength, frames.begin() + i * kFrameLength);
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++window_batches_;
    }
    return Run(frames.data(), n, activations, embeddings, summaries);
  }
  bool cuts_on_device() const override { return windows_; }
  void SetWindows(bool on) { windows_ = on; }
  // With summaries on, the batcher asks for frame summaries (as of a network on a GPU).
  bool summarizes_on_device() const override { return summaries_; }
  void SetSummaries(bool on) { summaries_ = on; }
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
