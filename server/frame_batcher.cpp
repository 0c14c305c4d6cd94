#include "frame_batcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <set>
#include <utility>

#include "crepe/capacity.h"

namespace crepe::server {
namespace {

using Clock = std::chrono::steady_clock;

double MillisecondsBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

FrameBatcher::FrameBatcher(Model& model, const BatcherOptions& options) : model_(model), options_(options) {
  const auto rows = static_cast<size_t>(options_.max_batch);
  frames_.resize(rows * kFrameLength);
  activations_.resize(rows * kPitchBins);
  embeddings_.resize(rows * kEmbeddingRows * static_cast<size_t>(model_.info().embedding_width));
  thread_ = std::thread([this] { Loop(); });
}

FrameBatcher::~FrameBatcher() { Stop(); }

Status FrameBatcher::Announce(const std::shared_ptr<FrameSource>& source, int64_t frames) {
  if (frames <= 0) return Status::Ok();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return UnavailableError("the server is shutting down");
    if (queued_frames_ + frames > options_.max_queued_frames) {
      return ResourceExhaustedError("the " + std::string(CapacityName(model_.info().capacity)) +
                                    " model's queue is full (" + std::to_string(queued_frames_) + " frames waiting, " +
                                    std::to_string(frames) + " more asked for, limit " +
                                    std::to_string(options_.max_queued_frames) + "); retry later");
    }
    queued_frames_ += frames;
    source->announced_ += frames;
    if (!source->queued_) {
      source->queued_ = true;
      source->announced_at_ = Clock::now();
      queue_.push_back(source);
    }
  }
  wake_.notify_one();
  return Status::Ok();
}

void FrameBatcher::Withdraw(const std::shared_ptr<FrameSource>& source) {
  std::lock_guard<std::mutex> lock(mutex_);
  queued_frames_ -= source->announced_;
  source->announced_ = 0;
  if (source->queued_) {
    queue_.erase(std::remove(queue_.begin(), queue_.end(), source), queue_.end());
    source->queued_ = false;
  }
}

void FrameBatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::deque<std::shared_ptr<FrameSource>> left;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    left.swap(queue_);
    queued_frames_ = 0;
  }
  for (auto& source : left) source->OnNetworkError(UnavailableError("the server is shutting down"));
}

BatcherStats FrameBatcher::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  BatcherStats s = stats_;
  s.queued_frames = queued_frames_;
  return s;
}

// Takes frames from the queued sources, oldest first, until the batch is full. Sources are
// called without the lock held (they take their own locks, and may announce more meanwhile).
std::vector<FrameBatcher::Part> FrameBatcher::FormBatch() {
  std::vector<Part> parts;
  int64_t rows = 0;
  while (rows < options_.max_batch) {
    std::shared_ptr<FrameSource> source;
    Clock::time_point since;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (queue_.empty()) break;
      source = queue_.front();
      queue_.pop_front();
      source->queued_ = false;
      since = source->announced_at_;
    }
    if (source->Cancelled()) {
      Withdraw(source);
      continue;
    }
    int64_t first = 0;
    const int64_t want = options_.max_batch - rows;
    const int64_t got = source->TakeFrames(frames_.data() + rows * kFrameLength, want, &first);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      const int64_t taken = std::min(got, source->announced_);
      source->announced_ -= taken;
      queued_frames_ -= taken;
      if (got < want || source->announced_ == 0) {
        // The source had no more ready frames than announced; it re-announces when it has.
        queued_frames_ -= source->announced_;
        source->announced_ = 0;
      } else if (!source->queued_) {
        source->queued_ = true;  // more to come: back of the queue, keeping its waiting time
        queue_.push_back(source);
      }
    }
    if (got > 0) {
      parts.push_back({source, first, got, rows, MillisecondsBetween(since, Clock::now())});
      rows += got;
    }
  }
  return parts;
}

void FrameBatcher::RunBatch(std::vector<Part>& parts, int64_t rows, bool embeddings) {
  const auto start = Clock::now();
  const Status status =
      model_.Infer(frames_.data(), rows, activations_.data(), embeddings ? embeddings_.data() : nullptr);
  const double compute_ms = MillisecondsBetween(start, Clock::now());
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.batches += 1;
    stats_.frames += rows;
    stats_.largest_batch = std::max(stats_.largest_batch, rows);
    std::set<const FrameSource*> distinct;
    for (const Part& p : parts) distinct.insert(p.source.get());
    if (distinct.size() > 1) stats_.shared_batches += 1;
  }
  const int64_t width = int64_t{kEmbeddingRows} * model_.info().embedding_width;
  for (Part& p : parts) {
    if (!status.ok()) {
      p.source->OnNetworkError(status);
      continue;
    }
    NetworkOutput out;
    out.first = p.first;
    out.count = p.count;
    out.queue_ms = p.queue_ms;
    out.compute_ms = compute_ms * static_cast<double>(p.count) / static_cast<double>(rows);
    const float* act = activations_.data() + p.offset * kPitchBins;
    out.activations.assign(act, act + p.count * kPitchBins);
    if (p.source->WantsEmbeddings()) {
      const float* emb = embeddings_.data() + p.offset * width;
      out.embeddings.assign(emb, emb + p.count * width);
    }
    p.source->OnNetworkOutput(std::move(out));
  }
}

void FrameBatcher::Loop() {
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      // Wait for a full batch, or until the oldest waiting frames have waited max_delay.
      const auto deadline = queue_.front()->announced_at_ + options_.max_delay;
      wake_.wait_until(lock, deadline, [&] { return stopping_ || queued_frames_ >= options_.max_batch; });
      if (stopping_) return;
    }
    try {
      std::vector<Part> parts = FormBatch();
      int64_t rows = 0;
      bool embeddings = false;
      for (const Part& p : parts) {
        rows += p.count;
        embeddings = embeddings || p.source->WantsEmbeddings();
      }
      if (rows > 0) RunBatch(parts, rows, embeddings);
    } catch (const std::exception& e) {  // the batcher thread must survive anything
      spdlog::error("batcher: {}", e.what());
    }
  }
}

}  // namespace crepe::server
