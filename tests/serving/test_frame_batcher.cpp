// The batcher against a fake network: what each batch held, in which order, and who got what.
// Assertions are on the batches the network ran, never on time.
#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "error_reasons.h"
#include "frame_batcher.h"
#include "serving/fake_network.h"

namespace crepe {
namespace {

using server::BatchClient;
using server::BatchOutput;
using server::FrameBatcher;
using server::FrameBlock;
using server::Priority;

class RecordingClient final : public BatchClient {
 public:
  RecordingClient(Priority priority, std::string caller) : BatchClient({priority, std::move(caller), false, false}) {}
  explicit RecordingClient(Traits traits) : BatchClient(std::move(traits)) {}

  void OnBatchOutput(BatchOutput output) override {
    std::lock_guard<std::mutex> lock(mutex_);
    frames_ += output.count;
    outputs_ += 1;
    if (output.decided() != nullptr) decided_ += static_cast<int64_t>(output.decided()->size());
    if (output.activations() != nullptr) outputs_with_activations_ += 1;
    if (output.summaries() != nullptr) {
      for (int64_t i = 0; i < output.count; ++i) {
        summaries_.push_back({output.summaries()[i].bin, output.summaries()[i].bin_activation});
      }
    }
    changed_.notify_all();
  }
  int outputs_with_activations() {
    std::lock_guard<std::mutex> lock(mutex_);
    return outputs_with_activations_;
  }
  bool WaitOutputs(int n) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(60), [&] { return outputs_ >= n; });
  }
  int64_t decided() {  // frames whose Viterbi path the network decided
    std::lock_guard<std::mutex> lock(mutex_);
    return decided_;
  }
  std::vector<std::pair<int, float>> summaries() {  // (bin, activation at it) per frame received
    std::lock_guard<std::mutex> lock(mutex_);
    return summaries_;
  }
  void OnBatchError(int64_t, int64_t count, const Status& status) override {
    std::lock_guard<std::mutex> lock(mutex_);
    errors_.push_back(status);
    failed_frames_ += count;
    changed_.notify_all();
  }
  bool WaitFrames(int64_t n) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(60), [&] { return frames_ >= n; });
  }
  bool WaitError() {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(60), [&] { return !errors_.empty(); });
  }
  int64_t frames() {
    std::lock_guard<std::mutex> lock(mutex_);
    return frames_;
  }
  std::vector<Status> errors() {
    std::lock_guard<std::mutex> lock(mutex_);
    return errors_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int64_t frames_ = 0, failed_frames_ = 0;
  std::vector<Status> errors_;
  int outputs_with_activations_ = 0;
  int outputs_ = 0;
  int64_t decided_ = 0;
  std::vector<std::pair<int, float>> summaries_;
};

FrameBlock Block(int tag, int64_t first, int64_t count) {
  FrameBlock b;
  b.first = first;
  b.count = count;
  b.frames.assign(static_cast<size_t>(count) * kFrameLength, 0.0f);
  for (int64_t i = 0; i < count; ++i) test::TagFrame(b.frames.data() + i * kFrameLength, tag, first + i);
  return b;
}

server::BatcherOptions Options(int64_t max_batch, int64_t quantum) {
  server::BatcherOptions o;
  o.max_batch = max_batch;
  o.quantum = quantum;
  o.max_delay = std::chrono::microseconds(1000);
  o.max_queued_frames = 100000;
  return o;
}

std::shared_ptr<RecordingClient> Client(Priority p, const std::string& caller) {
  return std::make_shared<RecordingClient>(p, caller);
}

// Starts a one-frame batch for `blocker` and waits until the network holds it: what is queued
// next waits for the following batch, so the test decides what that one holds.
void HoldFirstBatch(test::FakeNetwork& net, FrameBatcher& batcher, const std::shared_ptr<RecordingClient>& blocker) {
  net.Hold();
  ASSERT_TRUE(batcher.Enqueue(blocker, Block(1, 0, 1)).ok());
  ASSERT_TRUE(net.WaitForBatches(1));
}

std::vector<int> Tags(const test::FakeNetwork::Batch& batch) {
  std::vector<int> tags;
  for (const auto& f : batch.frames) tags.push_back(f.first);
  return tags;
}

TEST(FrameBatcher, AFailingBatchFailsExactlyTheCallsInIt) {
  test::FakeNetwork net;
  FrameBatcher batcher(net, Options(64, 64));
  ASSERT_TRUE(batcher.Reserve(1000).ok());
  auto x = Client(Priority::kBulk, "x"), a = Client(Priority::kBulk, "a"), b = Client(Priority::kBulk, "b"),
       c = Client(Priority::kBulk, "c");
  HoldFirstBatch(net, batcher, x);
  ASSERT_TRUE(batcher.Enqueue(a, Block(2, 0, 4)).ok());
  ASSERT_TRUE(batcher.Enqueue(b, Block(3, 0, 4)).ok());
  net.FailBatch(1);
  net.Release();
  ASSERT_TRUE(a->WaitError());
  ASSERT_TRUE(b->WaitError());
  ASSERT_TRUE(x->WaitFrames(1));
  ASSERT_TRUE(batcher.Enqueue(c, Block(4, 0, 4)).ok());  // the batcher goes on
  ASSERT_TRUE(c->WaitFrames(4));
  for (const auto& client : {a, b}) {
    const Status e = client->errors().front();
    EXPECT_EQ(e.code(), StatusCode::kInternal) << e.ToString();
    EXPECT_EQ(e.reason(), server::reasons::kBatchFailed);
    EXPECT_NE(e.message().find("fake failure of batch 1"), std::string::npos) << e.message();
    EXPECT_EQ(client->frames(), 0);
  }
  EXPECT_TRUE(x->errors().empty());
  EXPECT_TRUE(c->errors().empty());
  const auto batches = net.batches();
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(Tags(batches[1]), (std::vector<int>{2, 2, 2, 2, 3, 3, 3, 3}));
  EXPECT_EQ(batcher.stats().failed_batches, 1);
  EXPECT_EQ(batcher.stats().queued_frames, 0);
}

TEST(FrameBatcher, InteractiveFramesFillABatchBeforeBulkFrames) {
  test::FakeNetwork net;
  FrameBatcher batcher(net, Options(16, 16));
  ASSERT_TRUE(batcher.Reserve(1000).ok());
  auto x = Client(Priority::kBulk, "x"), bulk = Client(Priority::kBulk, "dataset"),
       live = Client(Priority::kInteractive, "live");
  HoldFirstBatch(net, batcher, x);
  ASSERT_TRUE(batcher.Enqueue(bulk, Block(2, 0, 40)).ok());  // queued first
  ASSERT_TRUE(batcher.Enqueue(live, Block(3, 0, 10)).ok());
  net.Release();
  ASSERT_TRUE(bulk->WaitFrames(40));
  ASSERT_TRUE(live->WaitFrames(10));
  const auto batches = net.batches();
  ASSERT_GE(batches.size(), 2u);
  std::vector<int> expected(10, 3);
  expected.resize(16, 2);
  EXPECT_EQ(Tags(batches[1]), expected);
  EXPECT_EQ(batcher.stats().interactive_frames, 10);
}

TEST(FrameBatcher, CallersTakeTurnsAndSoDoTheCallsOfOneCaller) {
  test::FakeNetwork net;
  FrameBatcher batcher(net, Options(32, 8));
  ASSERT_TRUE(batcher.Reserve(1000).ok());
  auto x = Client(Priority::kBulk, "x");
  // Caller P has three calls, caller Q one: P and Q get the same share, P's calls a third each.
  auto p1 = Client(Priority::kBulk, "P"), p2 = Client(Priority::kBulk, "P"), p3 = Client(Priority::kBulk, "P");
  auto q = Client(Priority::kBulk, "Q");
  HoldFirstBatch(net, batcher, x);
  ASSERT_TRUE(batcher.Enqueue(p1, Block(11, 0, 32)).ok());
  ASSERT_TRUE(batcher.Enqueue(p2, Block(12, 0, 32)).ok());
  ASSERT_TRUE(batcher.Enqueue(p3, Block(13, 0, 32)).ok());
  ASSERT_TRUE(batcher.Enqueue(q, Block(20, 0, 96)).ok());
  net.Release();
  ASSERT_TRUE(q->WaitFrames(96));
  for (const auto& p : {p1, p2, p3}) ASSERT_TRUE(p->WaitFrames(32));
  const auto batches = net.batches();
  ASSERT_GE(batches.size(), 4u);
  std::map<int, int> share;  // tag -> frames in the three batches after the first
  for (size_t i = 1; i <= 3; ++i) {
    std::map<int, int> in_batch;
    for (int tag : Tags(batches[i])) ++in_batch[tag];
    EXPECT_EQ(in_batch[20], 16) << "batch " << i << ": Q's share";
    EXPECT_EQ(in_batch[11] + in_batch[12] + in_batch[13], 16) << "batch " << i << ": P's share";
    for (auto [tag, n] : in_batch) share[tag] += n;
  }
  EXPECT_EQ(share[11], 16);
  EXPECT_EQ(share[12], 16);
  EXPECT_EQ(share[13], 16);
  EXPECT_EQ(share[20], 48);
}

TEST(FrameBatcher, FramesOfACancelledCallNeverRun) {
  test::FakeNetwork net;
  FrameBatcher batcher(net, Options(64, 64));
  ASSERT_TRUE(batcher.Reserve(1000).ok());
  auto x = Client(Priority::kBulk, "x"), withdrawn = Client(Priority::kBulk, "w"),
       marked = Client(Priority::kBulk, "m"), kept = Client(Priority::kBulk, "k");
  HoldFirstBatch(net, batcher, x);
  ASSERT_TRUE(batcher.Enqueue(withdrawn, Block(2, 0, 8)).ok());
  ASSERT_TRUE(batcher.Enqueue(marked, Block(3, 0, 8)).ok());
  ASSERT_TRUE(batcher.Enqueue(kept, Block(4, 0, 8)).ok());
  batcher.Withdraw(withdrawn.get());
  marked->MarkCancelled();  // skipped when the batch is formed, even before the call withdraws
  EXPECT_EQ(batcher.stats().queued_frames, 16);
  net.Release();
  ASSERT_TRUE(kept->WaitFrames(8));
  ASSERT_TRUE(x->WaitFrames(1));
  EXPECT_EQ(net.frames_run(), 1 + 8);
  EXPECT_EQ(withdrawn->frames(), 0);
  EXPECT_EQ(marked->frames(), 0);
  EXPECT_TRUE(withdrawn->errors().empty());
  EXPECT_EQ(batcher.stats().queued_frames, 0);
}

TEST(FrameBatcher, ReservationsBoundTheQueue) {
  test::FakeNetwork net;
  server::BatcherOptions o = Options(64, 64);
  o.max_queued_frames = 100;
  FrameBatcher batcher(net, o);
  ASSERT_TRUE(batcher.Reserve(60).ok());
  const Status full = batcher.Reserve(60);
  EXPECT_EQ(full.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(full.reason(), server::reasons::kQueueFull);
  EXPECT_NE(full.message().find("queue is full"), std::string::npos);
  batcher.Unreserve(60);
  EXPECT_TRUE(batcher.Reserve(100).ok());
  EXPECT_EQ(batcher.stats().reserved_frames, 100);
  // A call cannot queue more than was reserved.
  auto c = Client(Priority::kBulk, "c");
  EXPECT_EQ(batcher.Enqueue(c, Block(2, 0, 101)).code(), StatusCode::kInternal);
}

TEST(FrameBatcher, StopFailsWhatIsStillQueuedWithUnavailable) {
  test::FakeNetwork net;
  FrameBatcher batcher(net, Options(64, 64));
  ASSERT_TRUE(batcher.Reserve(1000).ok());
  auto x = Client(Priority::kBulk, "x"), waiting = Client(Priority::kBulk, "w");
  HoldFirstBatch(net, batcher, x);
  ASSERT_TRUE(batcher.Enqueue(waiting, Block(2, 0, 8)).ok());
  std::thread stopper([&] { batcher.Stop(); });               // finishes the batch in progress first
  while (batcher.Reserve(0).ok()) std::this_thread::yield();  // until Stop has begun
  net.Release();
  stopper.join();
  ASSERT_TRUE(waiting->WaitError());
  EXPECT_EQ(waiting->errors().front().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(x->WaitFrames(1));
  EXPECT_EQ(batcher.Enqueue(waiting, Block(2, 8, 1)).code(), StatusCode::kUnavailable);
}

// Windows of audio (for a network that cuts on its device): blocks split across batches, from two
// calls with different hops, reach the network as the very windows the calls cut, each once.
TEST(FrameBatcher, WindowBlocksReachTheNetworkAsTheirOwnWindows) {
  test::FakeNetwork net;
  net.SetWindows(true);
  FrameBatcher batcher(net, Options(5, 3));
  EXPECT_TRUE(batcher.wants_windows());
  auto a = Client(Priority::kBulk, "a"), b = Client(Priority::kBulk, "b");
  auto windows = [](int tag, int64_t first, int64_t count, int64_t hop) {
    FrameBlock block;
    block.first = first;
    block.count = count;
    block.window_samples.assign(static_cast<size_t>((count - 1) * hop + kFrameLength), 0.5f);
    for (int64_t i = 0; i < count; ++i) {
      block.window_starts.push_back(i * hop);
      test::TagFrame(block.window_samples.data() + i * hop, tag, first + i);
    }
    return block;
  };
  ASSERT_TRUE(batcher.Reserve(20).ok());
  ASSERT_TRUE(batcher.Enqueue(a, windows(2, 10, 7, 256)).ok());
  ASSERT_TRUE(batcher.Enqueue(b, windows(3, 0, 4, 160)).ok());
  ASSERT_TRUE(a->WaitFrames(7));
  ASSERT_TRUE(b->WaitFrames(4));
  std::multiset<std::pair<int, int64_t>> seen;
  for (const auto& batch : net.batches()) seen.insert(batch.frames.begin(), batch.frames.end());
  std::multiset<std::pair<int, int64_t>> want;
  for (int64_t i = 10; i < 17; ++i) want.insert({2, i});
  for (int64_t i = 0; i < 4; ++i) want.insert({3, i});
  EXPECT_EQ(seen, want);
  EXPECT_GE(net.window_batches(), 3);  // 11 frames, at most 5 a batch
  FrameBlock bad = windows(2, 17, 2, 256);
  bad.window_starts[1] = 100000;
  EXPECT_EQ(batcher.Enqueue(a, std::move(bad)).code(), StatusCode::kInternal);
  batcher.Stop();
}

// A network that summarises frames: each row is summarised within its own call's bin range, and
// activations come back only in batches holding a call that needs them.
TEST(FrameBatcher, SummariesUseEachCallsRangeAndActivationsComeOnlyWhereNeeded) {
  test::FakeNetwork net;  // one-hot 0.9 at bin 0 for these frames
  net.SetSummaries(true);
  FrameBatcher batcher(net, Options(8, 4));
  BatchClient::Traits narrow_traits{Priority::kBulk, "a", false, false};
  narrow_traits.range = BinRange{50, 100};
  narrow_traits.needs_activations = false;
  auto narrow = std::make_shared<RecordingClient>(narrow_traits);
  ASSERT_TRUE(batcher.Reserve(20).ok());
  ASSERT_TRUE(batcher.Enqueue(narrow, Block(1, 0, 6)).ok());
  ASSERT_TRUE(narrow->WaitFrames(6));
  EXPECT_EQ(narrow->outputs_with_activations(), 0);
  for (const auto& b : net.batches()) EXPECT_TRUE(b.summaries && !b.activations);
  // Now alongside a call that needs its activations (the whole range).
  BatchClient::Traits whole_traits{Priority::kBulk, "b", false, false};
  auto whole = std::make_shared<RecordingClient>(whole_traits);
  net.Hold();
  ASSERT_TRUE(batcher.Enqueue(narrow, Block(1, 6, 3)).ok());
  ASSERT_TRUE(batcher.Enqueue(whole, Block(2, 0, 3)).ok());
  net.Release();
  ASSERT_TRUE(narrow->WaitFrames(9));
  ASSERT_TRUE(whole->WaitFrames(3));
  EXPECT_GE(whole->outputs_with_activations(), 1);
  for (const auto& [bin, at_bin] : narrow->summaries()) {
    EXPECT_EQ(bin, 50);  // the first bin of its range: all zeros there
    EXPECT_EQ(at_bin, 0.0f);
  }
  for (const auto& [bin, at_bin] : whole->summaries()) {
    EXPECT_EQ(bin, 0);
    EXPECT_EQ(at_bin, 0.9f);
  }
  EXPECT_EQ(narrow->summaries().size(), 9u);
  EXPECT_EQ(whole->summaries().size(), 3u);
  batcher.Stop();
}

// A network that decodes Viterbi: a Viterbi call's parts carry its stream id, frames and end;
// an end that comes alone (an empty block marked last) runs as a part of no frames after the
// call's frames, and the whole path is decided by then; calls forgotten are passed on with the
// next batch.
TEST(FrameBatcher, ViterbiCallsEndsAloneAndForgottenCallsReachTheNetwork) {
  test::FakeNetwork net;
  net.SetViterbi(true);
  FrameBatcher batcher(net, Options(8, 4));
  BatchClient::Traits traits;
  traits.caller = "a";
  traits.viterbi_on_device = true;
  traits.needs_activations = false;
  auto call = std::make_shared<RecordingClient>(traits);
  auto other = std::make_shared<RecordingClient>(traits);
  ASSERT_TRUE(batcher.Reserve(20).ok());
  ASSERT_TRUE(batcher.Enqueue(call, Block(1, 0, 6)).ok());
  ASSERT_TRUE(call->WaitFrames(6));
  EXPECT_EQ(net.open_streams(), 1u);
  FrameBlock end;
  end.first = 6;
  end.last = true;
  ASSERT_TRUE(batcher.Enqueue(call, std::move(end)).ok());
  ASSERT_TRUE(call->WaitOutputs(3));  // 4 + 2 frames (two turns in one batch), then the end alone
  EXPECT_EQ(call->decided(), 6);
  EXPECT_EQ(net.open_streams(), 0u);
  // A call that ends otherwise: its stream is dropped with the next batch.
  ASSERT_TRUE(batcher.Enqueue(other, Block(2, 0, 3)).ok());
  ASSERT_TRUE(other->WaitFrames(3));
  EXPECT_EQ(net.open_streams(), 1u);
  batcher.Forget(other->id());
  auto third = std::make_shared<RecordingClient>(traits);
  ASSERT_TRUE(batcher.Enqueue(third, Block(3, 0, 1)).ok());  // any batch
  ASSERT_TRUE(third->WaitFrames(1));
  EXPECT_EQ(net.open_streams(), 1u);  // the third call's
  const auto batches = net.batches();
  ASSERT_EQ(batches.size(), 4u);
  const auto& first = batches[0].viterbi_parts;
  ASSERT_EQ(first.size(), 2u);
  for (int k = 0; k < 2; ++k) {
    EXPECT_EQ(first[k].stream, call->id());
    EXPECT_EQ(first[k].frame, 4 * k);
    EXPECT_EQ(first[k].count, 4 - 2 * k);
    EXPECT_FALSE(first[k].last);
  }
  const auto& alone = batches[1];
  EXPECT_TRUE(alone.frames.empty());
  ASSERT_EQ(alone.viterbi_parts.size(), 1u);
  EXPECT_EQ(alone.viterbi_parts[0].frame, 6);
  EXPECT_EQ(alone.viterbi_parts[0].count, 0);
  EXPECT_TRUE(alone.viterbi_parts[0].last);
  EXPECT_EQ(batches.back().forgotten, std::vector<uint64_t>{other->id()});
  EXPECT_NE(call->id(), other->id());
  batcher.Stop();
}

}  // namespace
}  // namespace crepe
