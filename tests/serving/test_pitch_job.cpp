// Jobs on strands against a fake network: a blocked result side does not hold up anyone else's
// batches, faults and cancellation end exactly the job they touch without waiting, and flow
// control stops a job whose results are not being written. Assertions are on what ran and what
// the sinks received, never on time.
#include <gtest/gtest.h>

#include <cmath>
#include <condition_variable>
#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "crepe/thread_pool.h"
#include "error_reasons.h"
#include "pitch_job.h"
#include "serving/fake_network.h"
#include "strand.h"

namespace crepe {
namespace {

using server::FrameBatcher;
using server::JobSink;
using server::PitchJob;

class RecordingSink final : public JobSink {
 public:
  void OnResults(Prediction rows, int64_t first_frame) override {
    std::unique_lock<std::mutex> lock(mutex_);
    in_results_ = true;
    changed_.notify_all();
    changed_.wait(lock, [&] { return !blocked_; });
    in_results_ = false;
    if (first_frame != frames_) out_of_order_ = true;
    frames_ += rows.frames();
    frequency_.insert(frequency_.end(), rows.frequency.begin(), rows.frequency.end());
    periodicity_.insert(periodicity_.end(), rows.periodicity.begin(), rows.periodicity.end());
    changed_.notify_all();
  }
  void OnFinished(const Status& status, const server::JobSummary& summary) override {
    std::lock_guard<std::mutex> lock(mutex_);
    finished_ = true;
    status_ = status;
    summary_ = summary;
    changed_.notify_all();
  }
  void OnReadyForAudio() override {
    std::lock_guard<std::mutex> lock(mutex_);
    asks_ += 1;
    changed_.notify_all();
  }

  void Block() {
    std::lock_guard<std::mutex> lock(mutex_);
    blocked_ = true;
  }
  void Unblock() {
    std::lock_guard<std::mutex> lock(mutex_);
    blocked_ = false;
    changed_.notify_all();
  }
  template <typename Pred>
  bool WaitFor(Pred pred) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(60), [&] { return pred(*this); });
  }
  bool finished() const { return finished_; }
  bool in_results() const { return in_results_; }
  int64_t frames() const { return frames_; }
  int asks() const { return asks_; }
  Status status() {
    std::lock_guard<std::mutex> lock(mutex_);
    return status_;
  }
  bool out_of_order() {
    std::lock_guard<std::mutex> lock(mutex_);
    return out_of_order_;
  }
  server::JobSummary summary() {
    std::lock_guard<std::mutex> lock(mutex_);
    return summary_;
  }
  std::vector<float> frequency() {
    std::lock_guard<std::mutex> lock(mutex_);
    return frequency_;
  }
  std::vector<float> periodicity() {
    std::lock_guard<std::mutex> lock(mutex_);
    return periodicity_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool blocked_ = false, in_results_ = false, finished_ = false, out_of_order_ = false;
  int64_t frames_ = 0;
  int asks_ = 0;
  Status status_;
  server::JobSummary summary_;
  std::vector<float> frequency_, periodicity_;
};

constexpr int64_t kClipFrames = 201;  // 2 s at 16 kHz, 10 ms hop, centred

AudioBuffer TwoSeconds() {
  std::vector<float> samples(32000);
  for (size_t i = 0; i < samples.size(); ++i) samples[i] = static_cast<float>(0.5 * std::sin(0.0314 * i));
  return {samples, 16000, 1};
}

// Waits until every task posted to a one-thread pool so far has run.
void Quiesce(ThreadPool& pool) {
  std::promise<void> done;
  pool.Post([&] { done.set_value(); });
  done.get_future().wait();
}

struct Harness {
  explicit Harness(int threads) : pool(threads) {
    server::BatcherOptions o;
    o.max_batch = 32;
    o.quantum = 32;
    o.max_delay = std::chrono::microseconds(500);
    o.max_queued_frames = 100000;
    batcher = std::make_unique<FrameBatcher>(network, o);
  }
  ~Harness() { batcher->Stop(); }

  std::shared_ptr<PitchJob> Job(const std::shared_ptr<RecordingSink>& sink, bool count_unsent = false,
                                int64_t window = 64, const PredictOptions& options = {}) {
    server::JobSpec spec;
    spec.id = "job";
    spec.traits.caller = "test";
    spec.limits.window_frames = window;
    spec.limits.block_frames = 32;
    spec.limits.count_unsent = count_unsent;
    SessionConfig config{16000, 1, options, test::FakeNetwork::kWidth};
    auto job = PitchJob::Make(config, spec, *batcher, pool, std::make_shared<server::SinkHandle>(sink.get()));
    EXPECT_TRUE(job.ok()) << job.status().ToString();
    return job.ok() ? *job : nullptr;
  }

  test::FakeNetwork network;
  ThreadPool pool;
  std::unique_ptr<FrameBatcher> batcher;
};

TEST(PitchJob, AResultSideThatIsBlockedDoesNotDelayOtherCallsBatches) {
  Harness h(2);
  auto blocked_sink = std::make_shared<RecordingSink>(), other_sink = std::make_shared<RecordingSink>();
  blocked_sink->Block();
  auto blocked = h.Job(blocked_sink), other = h.Job(other_sink);
  blocked->PushAudio(TwoSeconds());
  blocked->EndOfAudio();
  ASSERT_TRUE(blocked_sink->WaitFor([](RecordingSink& s) { return s.in_results(); }));
  // One worker is now stuck in the blocked call's result side; the batcher and the other call
  // carry on.
  other->PushAudio(TwoSeconds());
  other->EndOfAudio();
  ASSERT_TRUE(other_sink->WaitFor([](RecordingSink& s) { return s.finished(); }));
  EXPECT_TRUE(other_sink->status().ok()) << other_sink->status().ToString();
  EXPECT_EQ(other_sink->frames(), kClipFrames);
  EXPECT_FALSE(blocked_sink->finished());
  EXPECT_GE(h.network.frames_run(), kClipFrames + 32) << "the batcher waited for the blocked call";
  blocked_sink->Unblock();
  ASSERT_TRUE(blocked_sink->WaitFor([](RecordingSink& s) { return s.finished(); }));
  EXPECT_TRUE(blocked_sink->status().ok());
  EXPECT_EQ(blocked_sink->frames(), kClipFrames);
  EXPECT_FALSE(blocked_sink->out_of_order());
  EXPECT_EQ(h.batcher->stats().reserved_frames, 0);
}

TEST(PitchJob, AFailingBatchEndsTheJobWithInternalAndTheNextJobSucceeds) {
  Harness h(2);
  h.network.FailBatch(0);
  auto sink = std::make_shared<RecordingSink>();
  auto job = h.Job(sink);
  job->PushAudio(TwoSeconds());
  job->EndOfAudio();
  ASSERT_TRUE(sink->WaitFor([](RecordingSink& s) { return s.finished(); }));
  EXPECT_EQ(sink->status().code(), StatusCode::kInternal);
  EXPECT_EQ(sink->status().reason(), server::reasons::kBatchFailed);
  auto next_sink = std::make_shared<RecordingSink>();
  auto next = h.Job(next_sink);
  next->PushAudio(TwoSeconds());
  next->EndOfAudio();
  ASSERT_TRUE(next_sink->WaitFor([](RecordingSink& s) { return s.finished(); }));
  EXPECT_TRUE(next_sink->status().ok()) << next_sink->status().ToString();
  EXPECT_EQ(next_sink->frames(), kClipFrames);
}

TEST(PitchJob, CancelWhileQueuedEndsTheJobAtOnceAndDropsItsFrames) {
  Harness h(2);
  h.network.Hold();
  auto sink = std::make_shared<RecordingSink>();
  auto job = h.Job(sink);
  job->PushAudio(TwoSeconds());
  job->EndOfAudio();
  ASSERT_TRUE(h.network.WaitForBatches(1));  // the first 32 frames are running; 32 more are queued
  job->Cancel(CancelledError("the client cancelled the call"));
  // The job ends while the network still holds its batch: nobody waits for the batch.
  ASSERT_TRUE(sink->WaitFor([](RecordingSink& s) { return s.finished(); }));
  EXPECT_EQ(sink->status().code(), StatusCode::kCancelled);
  EXPECT_EQ(h.batcher->stats().queued_frames, 0);
  EXPECT_EQ(h.batcher->stats().reserved_frames, 0);
  h.network.Release();
  // Nothing of the job runs after the batch in progress.
  auto probe_sink = std::make_shared<RecordingSink>();
  auto probe = h.Job(probe_sink);
  probe->PushAudio(TwoSeconds());
  probe->EndOfAudio();
  ASSERT_TRUE(probe_sink->WaitFor([](RecordingSink& s) { return s.finished(); }));
  EXPECT_EQ(h.network.frames_run(), 32 + kClipFrames);
  EXPECT_EQ(sink->frames(), 0);
}

TEST(PitchJob, ResultsNotYetWrittenStopTheJobAndWritingThemLetsItGoOn) {
  Harness h(1);  // one worker: Quiesce() then means the job has done all it was told
  auto sink = std::make_shared<RecordingSink>();
  auto job = h.Job(sink, /*count_unsent=*/true, /*window=*/64);
  job->PushAudio(TwoSeconds());  // no end yet: a stream in progress
  ASSERT_TRUE(sink->WaitFor([](RecordingSink& s) { return s.frames() >= 64; }));
  job->Written(0);
  Quiesce(h.pool);
  // The window (64 frames) is full of results the call has not written: nothing more is cut.
  EXPECT_EQ(h.network.frames_run(), 64);
  EXPECT_EQ(sink->frames(), 64);
  EXPECT_EQ(sink->asks(), 0) << "asked for audio while holding frames it could not cut";
  // Acknowledge each write as it comes, until the job has cut all the audio it holds and asks
  // for more.
  int64_t written = 64;
  job->Written(64);
  while (sink->asks() == 0) {
    ASSERT_TRUE(sink->WaitFor([&](RecordingSink& s) { return s.frames() > written || s.asks() > 0; }));
    const int64_t now = sink->frames();
    if (now > written) job->Written(now - written);
    written = now;
  }
  job->EndOfAudio();
  ASSERT_TRUE(sink->WaitFor([](RecordingSink& s) { return s.frames() == kClipFrames; }));
  ASSERT_TRUE(sink->WaitFor([](RecordingSink& s) { return s.finished(); }));
  EXPECT_TRUE(sink->status().ok()) << sink->status().ToString();
  EXPECT_FALSE(sink->out_of_order());
}

// Viterbi calls whose paths the network decides (as crepe-server's model on a GPU does) give the
// results of the same calls decoded in their sessions, bit for bit: ended with their last frames
// (a unary call's audio and end come together) or alone (a stream that ends after every frame
// was cut); the network holds no stream once the calls are gone.
TEST(PitchJob, ViterbiDecidedByTheNetworkEqualsViterbiInTheSession) {
  for (Decoder decoder : {Decoder::kViterbi, Decoder::kViterbiConfidence}) {
    for (bool end_alone : {false, true}) {
      PredictOptions options;
      options.decoder = decoder;
      options.center = !end_alone;  // uncentred: no frame waits for the end
      const int64_t frames = end_alone ? 1 + (32000 - kFrameLength) / 160 : kClipFrames;
      std::vector<std::vector<float>> frequency, periodicity;
      for (bool on_network : {false, true}) {
        Harness h(2);
        h.network.SetViterbi(on_network);
        auto sink = std::make_shared<RecordingSink>();
        auto job = h.Job(sink, false, 64, options);
        ASSERT_NE(job, nullptr);
        job->PushAudio(TwoSeconds());
        if (end_alone) {
          for (int i = 0; i < 60000 && h.network.frames_run() < frames; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          }
          ASSERT_EQ(h.network.frames_run(), frames);
        }
        job->EndOfAudio();
        ASSERT_TRUE(sink->WaitFor([](RecordingSink& s) { return s.finished(); }));
        ASSERT_TRUE(sink->status().ok()) << sink->status().ToString();
        EXPECT_EQ(sink->frames(), frames);
        frequency.push_back(sink->frequency());
        periodicity.push_back(sink->periodicity());
        bool any_parts = false, alone = false;
        for (const auto& b : h.network.batches()) {
          any_parts = any_parts || !b.viterbi_parts.empty();
          for (const ViterbiPart& p : b.viterbi_parts) alone = alone || (p.last && p.count == 0);
        }
        EXPECT_EQ(any_parts, on_network);
        EXPECT_EQ(alone, on_network && end_alone);
        EXPECT_EQ(h.network.open_streams(), 0u);
      }
      const std::string what = std::string(DecoderName(decoder)) + (end_alone ? ", the end alone" : "");
      ASSERT_EQ(frequency[0].size(), frequency[1].size()) << what;
      EXPECT_EQ(std::memcmp(frequency[0].data(), frequency[1].data(), frequency[0].size() * sizeof(float)), 0) << what;
      EXPECT_EQ(std::memcmp(periodicity[0].data(), periodicity[1].data(), periodicity[0].size() * sizeof(float)), 0)
          << what;
    }
  }
}

TEST(Strand, RunsItsTasksInOrderOneAtATimeAndThePoolQueueStaysBounded) {
  ThreadPool pool(4);
  constexpr int kStrands = 50, kTasks = 40;
  std::vector<std::shared_ptr<server::Strand>> strands;
  std::vector<std::vector<int>> seen(kStrands);
  std::vector<std::atomic<int>> running(kStrands);
  std::atomic<bool> overlap{false};
  std::atomic<int> done{0};
  for (int s = 0; s < kStrands; ++s) strands.push_back(server::Strand::Make(pool, nullptr));
  for (int t = 0; t < kTasks; ++t) {
    for (int s = 0; s < kStrands; ++s) {
      strands[s]->Post([&, s, t] {
        if (running[s].fetch_add(1) != 0) overlap = true;
        seen[s].push_back(t);
        running[s].fetch_sub(1);
        done += 1;
      });
    }
  }
  while (done.load() < kStrands * kTasks) std::this_thread::yield();
  EXPECT_FALSE(overlap.load());
  for (int s = 0; s < kStrands; ++s) {
    ASSERT_EQ(seen[s].size(), static_cast<size_t>(kTasks));
    for (int t = 0; t < kTasks; ++t) EXPECT_EQ(seen[s][t], t);
  }
  EXPECT_LE(pool.high_water(), static_cast<size_t>(kStrands)) << "a strand queued more than one drain";
}

TEST(Strand, ATaskThatThrowsIsReportedAndTheNextOnesRun) {
  ThreadPool pool(1);
  std::string reported;
  auto strand = server::Strand::Make(pool, [&](const std::string& what) { reported = what; });
  int after = 0;
  strand->Post([] { throw std::runtime_error("boom"); });
  strand->Post([&] { after = 1; });
  Quiesce(pool);
  Quiesce(pool);
  EXPECT_EQ(reported, "boom");
  EXPECT_EQ(after, 1);
}

// One worker, held busy while tasks are posted, so that the order they then run in is the pool's.
class HeldPool {
 public:
  HeldPool() : pool(1) {
    pool.Post([this] { release_.get_future().wait(); });
  }
  void Release() { release_.set_value(); }
  ThreadPool pool;

 private:
  std::promise<void> release_;
};

TEST(ThreadPool, AheadTasksRunBeforeQueuedNormalOnesAndEachLaneInOrder) {
  HeldPool held;
  std::vector<std::string> ran;  // only the one worker touches it
  held.pool.Post([&] { ran.push_back("normal 1"); });
  held.pool.Post([&] { ran.push_back("ahead 1"); }, ThreadPool::Lane::kAhead);
  held.pool.Post([&] { ran.push_back("normal 2"); });
  held.pool.Post([&] { ran.push_back("ahead 2"); }, ThreadPool::Lane::kAhead);
  held.Release();
  Quiesce(held.pool);
  EXPECT_EQ(ran, (std::vector<std::string>{"ahead 1", "ahead 2", "normal 1", "normal 2"}));
  EXPECT_GE(held.pool.high_water(), 4u);  // both lanes count (5 if the holding task was still queued)
}

TEST(Strand, ALiveStreamsStrandGoesAheadOfBulkWorkAlreadyQueued) {
  HeldPool held;
  std::vector<std::string> ran;
  auto bulk = server::Strand::Make(held.pool, nullptr);
  auto live = server::Strand::Make(held.pool, nullptr, ThreadPool::Lane::kAhead);
  for (int i = 0; i < 3; ++i) bulk->Post([&, i] { ran.push_back("bulk " + std::to_string(i)); });
  live->Post([&] { ran.push_back("live 0"); });
  live->Post([&] { ran.push_back("live 1"); });
  held.Release();
  Quiesce(held.pool);
  Quiesce(held.pool);
  EXPECT_EQ(ran, (std::vector<std::string>{"live 0", "live 1", "bulk 0", "bulk 1", "bulk 2"}));
}

}  // namespace
}  // namespace crepe
