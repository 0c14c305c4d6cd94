#include "frame_batcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <new>
#include <stdexcept>
#include <utility>

#include "crepe/capacity.h"
#include "crepe/frames.h"
#include "error_reasons.h"

namespace crepe::server {
namespace {

using Clock = std::chrono::steady_clock;

double MillisecondsBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

const char* PriorityName(Priority priority) { return priority == Priority::kInteractive ? "interactive" : "bulk"; }

const float* BatchOutput::activations() const {
  return results->activations.empty() ? nullptr : results->activations.data() + row * kPitchBins;
}
const std::vector<FrameSummary>* BatchOutput::decided() const {
  return results->decided.empty() ? nullptr : &results->decided[static_cast<size_t>(part)];
}

uint64_t BatchClient::NextId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

const FrameSummary* BatchOutput::summaries() const {
  return results->summaries.empty() ? nullptr : results->summaries.data() + row;
}

const float* BatchOutput::embeddings() const {
  if (results->embeddings.empty()) return nullptr;
  return results->embeddings.data() + row * int64_t{kEmbeddingRows} * results->embedding_width;
}

FrameBatcher::FrameBatcher(NetworkRunner& network, const BatcherOptions& options)
    : network_(network), options_(options) {
  frames_.resize(static_cast<size_t>(options_.max_batch) * kFrameLength);
  thread_ = std::thread([this] { Loop(); });
}

FrameBatcher::~FrameBatcher() { Stop(); }

Status FrameBatcher::Reserve(int64_t frames) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopping_) return UnavailableError("the server is shutting down").WithReason(reasons::kShuttingDown);
  if (reserved_frames_ + frames > options_.max_queued_frames) {
    return ResourceExhaustedError("the " + network_.name() + " model's queue is full (" +
                                  std::to_string(reserved_frames_) + " of " +
                                  std::to_string(options_.max_queued_frames) + " frames taken by calls in progress, " +
                                  std::to_string(frames) + " more asked for); retry later")
        .WithReason(reasons::kQueueFull);
  }
  reserved_frames_ += frames;
  return Status::Ok();
}

void FrameBatcher::Unreserve(int64_t frames) {
  std::lock_guard<std::mutex> lock(mutex_);
  reserved_frames_ -= frames;
}

Status FrameBatcher::Enqueue(const std::shared_ptr<BatchClient>& client, FrameBlock block) {
  if (block.count < 0 || (block.count == 0 && !block.last)) return Status::Ok();
  if (block.windows()) {
    bool ok = static_cast<int64_t>(block.window_starts.size()) == block.count;
    for (int64_t i = 0; ok && i < block.count; ++i) {
      ok = block.window_starts[i] >= 0 && (i == 0 || block.window_starts[i] >= block.window_starts[i - 1]) &&
           block.window_starts[i] + kFrameLength <= static_cast<int64_t>(block.window_samples.size());
    }
    if (!ok) return InternalError("a block of " + std::to_string(block.count) + " windows is inconsistent");
  } else if (static_cast<int64_t>(block.frames.size()) != block.count * kFrameLength) {
    return InternalError("a frame block of " + std::to_string(block.count) + " frames holds " +
                         std::to_string(block.frames.size()) + " samples");
  }
  auto shared = std::make_shared<FrameBlock>(std::move(block));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return UnavailableError("the server is shutting down").WithReason(reasons::kShuttingDown);
    if (queued_frames_ + shared->count > reserved_frames_) {
      return InternalError("a call queued more frames than it reserved");
    }
    const auto now = Clock::now();
    ClientQueue& q = clients_[client.get()];
    if (q.blocks.empty()) {
      q.client = client;
      PriorityQueue& pq = queues_[static_cast<int>(client->traits().priority)];
      auto it = pq.by_caller.find(client->traits().caller);
      if (it == pq.by_caller.end()) {
        pq.turns.push_back({client->traits().caller, {}});
        it = pq.by_caller.emplace(client->traits().caller, std::prev(pq.turns.end())).first;
      }
      it->second->clients.push_back(client.get());
    }
    queued_frames_ += shared->count;
    if (shared->count == 0) ++queued_ends_;
    q.blocks.push_back({std::move(shared), 0, now});
    waiting_since_.insert(now);
  }
  wake_.notify_one();
  return Status::Ok();
}

void FrameBatcher::DropClientLocked(const BatchClient* client) {
  auto it = clients_.find(client);
  if (it == clients_.end()) return;
  for (const Queued& q : it->second.blocks) {
    queued_frames_ -= q.block->count - q.taken;
    if (q.block->count == 0) --queued_ends_;
    waiting_since_.erase(waiting_since_.find(q.enqueued_at));
  }
  PriorityQueue& pq = queues_[static_cast<int>(client->traits().priority)];
  auto turn = pq.by_caller.find(client->traits().caller);
  if (turn != pq.by_caller.end()) {
    auto& clients = turn->second->clients;
    clients.erase(std::remove(clients.begin(), clients.end(), client), clients.end());
    if (clients.empty()) {
      pq.turns.erase(turn->second);
      pq.by_caller.erase(turn);
    }
  }
  clients_.erase(it);
}

void FrameBatcher::Withdraw(const BatchClient* client) {
  std::lock_guard<std::mutex> lock(mutex_);
  DropClientLocked(client);
}

void FrameBatcher::Forget(uint64_t client_id) {
  std::lock_guard<std::mutex> lock(forget_mutex_);
  forgotten_.push_back(client_id);
}

void FrameBatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::vector<std::pair<std::shared_ptr<BatchClient>, std::pair<int64_t, int64_t>>> left;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [key, q] : clients_) {
      const Queued& front = q.blocks.front();
      const Queued& back = q.blocks.back();
      left.push_back({q.client, {front.block->first + front.taken, back.block->first + back.block->count}});
    }
    clients_.clear();
    for (PriorityQueue& pq : queues_) {
      pq.turns.clear();
      pq.by_caller.clear();
    }
    waiting_since_.clear();
    queued_frames_ = 0;
    queued_ends_ = 0;
  }
  for (auto& [client, range] : left) {
    client->OnBatchError(range.first, range.second - range.first,
                         UnavailableError("the server is shutting down").WithReason(reasons::kShuttingDown));
  }
}

std::vector<double> BatchSizeBounds() { return ExponentialBounds(1, 2, 13); }
std::vector<double> DurationBounds() { return ExponentialBounds(0.00025, 2, 20); }

BatcherStats FrameBatcher::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  BatcherStats s = stats_;
  s.queued_frames = queued_frames_;
  s.reserved_frames = reserved_frames_;
  return s;
}

// Callers take turns of up to `quantum` frames; within a caller, its calls take turns. A call
// whose frames run out leaves the rotation until it queues more.
int64_t FrameBatcher::TakeTurnsLocked(PriorityQueue& pq, int64_t room, int64_t row, std::vector<Part>& parts) {
  const auto now = Clock::now();
  int64_t taken_total = 0;
  while (room > 0 && !pq.turns.empty()) {
    CallerTurn& turn = pq.turns.front();
    const BatchClient* key = turn.clients.front();
    ClientQueue& q = clients_.at(key);
    if (q.client->cancelled()) {
      DropClientLocked(key);  // erases `turn` too when it was the caller's last call
      continue;
    }
    int64_t turn_left = std::min(room, options_.quantum);
    while (turn_left > 0 && !q.blocks.empty()) {
      Queued& front = q.blocks.front();
      const int64_t n = std::min(turn_left, front.block->count - front.taken);
      parts.push_back({q.client, front.block, front.taken, n, row, MillisecondsBetween(front.enqueued_at, now)});
      front.taken += n;
      row += n;
      room -= n;
      turn_left -= n;
      taken_total += n;
      queued_frames_ -= n;
      if (front.block->count == 0) --queued_ends_;  // an end alone: a part of no frames
      if (front.taken == front.block->count) {
        waiting_since_.erase(waiting_since_.find(front.enqueued_at));
        q.blocks.pop_front();
      }
    }
    // Rotate: this call goes to the back of its caller's calls, the caller to the back of the turns.
    turn.clients.pop_front();
    if (q.blocks.empty()) {
      clients_.erase(key);
    } else {
      turn.clients.push_back(key);
    }
    if (turn.clients.empty()) {
      pq.by_caller.erase(turn.caller);
      pq.turns.pop_front();
    } else {
      pq.turns.splice(pq.turns.end(), pq.turns, pq.turns.begin());
    }
  }
  return taken_total;
}

std::vector<FrameBatcher::Part> FrameBatcher::FormBatchLocked() {
  std::vector<Part> parts;
  int64_t rows = 0;
  for (PriorityQueue& pq : queues_) {  // interactive first
    rows += TakeTurnsLocked(pq, options_.max_batch - rows, rows, parts);
  }
  return parts;
}

void FrameBatcher::RunBatch(std::vector<Part>& parts, int64_t rows) {
  bool embeddings = false;
  bool fail = false;
  const bool summarize = network_.summarizes_on_device();
  bool activations = !summarize;
  // Windows when every part is windows (a model's calls all hand over one kind); a part of cut
  // frames in such a batch would be cut again, so a mixed batch is cut here.
  bool windows = true;
  for (const Part& p : parts) {
    if (p.count == 0) continue;  // an end alone
    embeddings = embeddings || p.client->traits().wants_embeddings;
    activations = activations || p.client->traits().needs_activations;
    fail = fail || p.client->traits().fail_batches;
    windows = windows && p.block->windows();
  }
  windows = windows && rows > 0;
  // The Viterbi calls' parts, for a network that decodes Viterbi, and the calls gone since.
  ViterbiRequest viterbi;
  const bool decode_viterbi = network_.decodes_viterbi();
  if (!decode_viterbi) forget_now_.clear();
  if (decode_viterbi) {
    viterbi.forget.swap(forget_now_);
    for (const Part& p : parts) {
      const BatchClient::Traits& t = p.client->traits();
      if (!t.viterbi_on_device) continue;
      viterbi.parts.push_back({p.client->id(), t.decoder, t.range, p.block->first + p.offset, p.row, p.count,
                               p.block->last && p.offset + p.count == p.block->count});
    }
  }
  const int width = network_.embedding_width();
  auto results = std::make_shared<BatchResults>();
  Status status;
  const auto start = Clock::now();
  try {
    window_samples_.clear();
    window_starts_.clear();
    for (const Part& p : parts) {
      if (p.count == 0) continue;  // an end alone: nothing to copy (its block holds no samples)
      const FrameBlock& b = *p.block;
      if (windows) {
        // Only the stretch of the block's signal these frames cover.
        const int64_t lo = b.window_starts[p.offset];
        const int64_t hi = b.window_starts[p.offset + p.count - 1] + kFrameLength;
        const auto base = static_cast<int64_t>(window_samples_.size());
        window_samples_.insert(window_samples_.end(), b.window_samples.begin() + lo, b.window_samples.begin() + hi);
        for (int64_t k = p.offset; k < p.offset + p.count; ++k)
          window_starts_.push_back(base + b.window_starts[k] - lo);
      } else if (b.windows()) {
        for (int64_t k = 0; k < p.count; ++k) {
          float* frame = frames_.data() + (p.row + k) * kFrameLength;
          ExtractFrame(b.window_samples.data(), static_cast<int64_t>(b.window_samples.size()),
                       b.window_starts[p.offset + k], frame);
          NormaliseFrame(frame);
        }
      } else {
        std::memcpy(frames_.data() + p.row * kFrameLength, b.frames.data() + p.offset * kFrameLength,
                    static_cast<size_t>(p.count) * kFrameLength * sizeof(float));
      }
    }
    results->embedding_width = width;
    if (activations) results->activations.resize(static_cast<size_t>(rows) * kPitchBins);
    if (embeddings) results->embeddings.resize(static_cast<size_t>(rows) * kEmbeddingRows * static_cast<size_t>(width));
    SummaryRequest request;
    if (summarize) {
      ranges_.clear();
      for (const Part& p : parts) ranges_.insert(ranges_.end(), static_cast<size_t>(p.count), p.client->traits().range);
      results->summaries.resize(static_cast<size_t>(rows));
      request = {ranges_.data(), results->summaries.data()};
    }
    if (fail) throw std::runtime_error("injected fault (--test-fail-request-prefix)");
    float* act = activations ? results->activations.data() : nullptr;
    float* emb = embeddings ? results->embeddings.data() : nullptr;
    const SummaryRequest* sum = summarize ? &request : nullptr;
    std::vector<std::vector<FrameSummary>> decided;
    viterbi.decided = &decided;
    const ViterbiRequest* vit = decode_viterbi ? &viterbi : nullptr;
    status = windows ? network_.RunWindows(window_samples_.data(), static_cast<int64_t>(window_samples_.size()),
                                           window_starts_.data(), rows, act, emb, sum, vit)
                     : network_.Run(frames_.data(), rows, act, emb, sum, vit);
    if (status.ok() && !viterbi.parts.empty()) {
      if (decided.size() != viterbi.parts.size()) throw std::runtime_error("the network lost Viterbi parts");
      results->decided.resize(parts.size());
      size_t k = 0;
      for (size_t i = 0; i < parts.size(); ++i) {
        if (parts[i].client->traits().viterbi_on_device) results->decided[i] = std::move(decided[k++]);
      }
    }
  } catch (const std::bad_alloc&) {
    status = ResourceExhaustedError("out of memory running a batch of " + std::to_string(rows) + " frames");
  } catch (const std::exception& e) {
    status = InternalError(std::string("the network failed: ") + e.what());
  }
  const double compute_ms = MillisecondsBetween(start, Clock::now());
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.batches += 1;
    stats_.busy_ms += compute_ms;
    stats_.batch_seconds.Observe(compute_ms / 1000);
    if (!status.ok()) {
      stats_.failed_batches += 1;
    } else if (rows > 0) {
      stats_.frames += rows;
      stats_.largest_batch = std::max(stats_.largest_batch, rows);
      stats_.batch_frames.Observe(static_cast<double>(rows));
      for (const Part& p : parts) {
        if (p.client->traits().priority == Priority::kInteractive) stats_.interactive_frames += p.count;
        stats_.queue_wait_seconds.Observe(p.queue_ms / 1000);
      }
      for (const Part& p : parts) {
        if (p.client != parts.front().client) {
          stats_.shared_batches += 1;
          break;
        }
      }
    }
  }
  if (!status.ok()) {
    // The streams to forget may not have been reached: again with the next batch.
    forget_now_.insert(forget_now_.end(), viterbi.forget.begin(), viterbi.forget.end());
    spdlog::error("batcher {}: a batch of {} frames from {} part(s) failed: {}", network_.name(), rows, parts.size(),
                  status.ToString());
    const Status failed = InternalError("a batch holding this call's frames failed on the " + network_.name() +
                                        " model: " + status.message())
                              .WithReason(reasons::kBatchFailed);
    for (const Part& p : parts) p.client->OnBatchError(p.block->first + p.offset, p.count, failed);
    return;
  }
  std::shared_ptr<const BatchResults> shared = std::move(results);
  for (size_t i = 0; i < parts.size(); ++i) {
    const Part& p = parts[i];
    BatchOutput out;
    out.first = p.block->first + p.offset;
    out.count = p.count;
    out.results = shared;
    out.row = p.row;
    out.part = static_cast<int64_t>(i);
    out.queue_ms = p.queue_ms;
    out.compute_ms = rows > 0 ? compute_ms * static_cast<double>(p.count) / static_cast<double>(rows) : 0;
    p.client->OnBatchOutput(std::move(out));
  }
}

void FrameBatcher::Loop() {
  while (true) {
    std::vector<Part> parts;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || queued_frames_ > 0 || queued_ends_ > 0; });
      if (stopping_) return;
      // Wait for a full batch, or until the oldest waiting frames have waited max_delay.
      const auto deadline = *waiting_since_.begin() + options_.max_delay;
      wake_.wait_until(lock, deadline, [&] { return stopping_ || queued_frames_ >= options_.max_batch; });
      if (stopping_) return;
      parts = FormBatchLocked();
    }
    {
      std::lock_guard<std::mutex> lock(forget_mutex_);
      forget_now_.insert(forget_now_.end(), forgotten_.begin(), forgotten_.end());
      forgotten_.clear();
    }
    int64_t rows = 0;
    for (const Part& p : parts) rows += p.count;
    if (!parts.empty()) RunBatch(parts, rows);
  }
}

}  // namespace crepe::server
