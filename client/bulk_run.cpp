#include "bulk_run.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "bulk_progress.h"
#include "crepe/capacity.h"
#include "crepe/file_io.h"
#include "crepe/thread_pool.h"
#include "delay_queue.h"
#include "output_files.h"
#include "remote_predict.h"
#include "sidecar.h"

namespace crepe::client {
namespace {
namespace fs = std::filesystem;

rpc::AnalysisRequest WireRequest(const cli::AnalysisOptions& a) {
  rpc::AnalysisRequest r;
  r.capacity = *ParseCapacity(a.model);  // validated when the options were parsed
  r.options = a.predict;
  r.outputs.pitch = true;
  r.outputs.confidence = true;
  r.outputs.periodicity = a.outputs.periodicity;
  r.outputs.activations = a.outputs.activations;
  r.outputs.embeddings = a.outputs.embeddings;
  r.outputs.float16 = false;  // files hold float32, exactly as crepe-predict writes them
  return r;
}

int64_t FileBytes(const std::string& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  return ec ? 0 : static_cast<int64_t>(size);
}

// The run (threads: see bulk_run.h). At most --max-in-flight inputs are under way: the main
// thread starts the first ones, and each input that finishes starts the next.
class BulkRun {
 public:
  BulkRun(const BulkOptions& options, std::vector<InputFile> todo, size_t skipped, int64_t bytes)
      : options_(options),
        todo_(std::move(todo)),
        pool_(options.servers, options.credentials),
        progress_(!options.quiet, todo_.size(), skipped, bytes),
        predictor_(pool_, workers_, delays_, WireRequest(options.analysis), options.policy,
                   [this](const std::string& line) {
                     if (!options_.quiet) progress_.Print("crepe-client: warning: " + line);
                   }),
        workers_(std::clamp<size_t>(std::thread::hardware_concurrency(), 1, kMaxWorkers)),
        delays_(workers_) {}

  // Returns the manifest lines of the inputs that failed.
  std::vector<std::string> Run() {
    const size_t first = std::min<size_t>(static_cast<size_t>(std::max(options_.max_in_flight, 1)), todo_.size());
    for (size_t k = 0; k < first; ++k) StartNext();
    std::unique_lock<std::mutex> lock(mutex_);
    while (finished_ < todo_.size()) {
      lock.unlock();
      progress_.Redraw();
      lock.lock();
      done_.wait_for(lock, std::chrono::milliseconds(200));
    }
    lock.unlock();
    progress_.Redraw(true);
    return failed_lines_;
  }

  BulkProgress& progress() { return progress_; }

 private:
  // Files are read, audio decoded and outputs written on this many threads.
  static constexpr size_t kMaxWorkers = 4;

  // The server refused our credentials: every further call would be refused the same way.
  static bool RefusesCredentials(const Status& s) {
    return s.code() == StatusCode::kUnauthenticated || s.code() == StatusCode::kPermissionDenied;
  }

  void StartNext() {
    for (;;) {
      const size_t i = next_.fetch_add(1);
      if (i >= todo_.size()) return;
      const InputFile& input = todo_[i];
      if (!refused_.load()) {
        predictor_.Predict(input.path, input.relative_stem,
                           [this, &input](Result<RemoteResult> r) { Finished(input, std::move(r)); });
        return;
      }
      // Not sent after a refusal: failed (listed in failed.txt, so the run can be resumed), quietly.
      progress_.Failed(FileBytes(input.path));
      std::lock_guard<std::mutex> lock(mutex_);
      failed_lines_.push_back(ManifestLine(input));
      ++finished_;
      done_.notify_all();
    }
  }

  // On a worker.
  void Finished(const InputFile& input, Result<RemoteResult> r) {
    const Status s = r.ok() ? WriteOutputs(input, *r) : r.status();
    if (s.ok()) {
      progress_.Succeeded(FileBytes(input.path), r->audio_seconds);
    } else {
      progress_.Failed(FileBytes(input.path));
      // The request id is what the server logged the call under (and sent back as x-request-id).
      progress_.Print("crepe-client: error: " + input.path + " (request id \"" + input.relative_stem +
                      "\"): " + s.ToString());
      if (RefusesCredentials(s) && !refused_.exchange(true)) {
        progress_.Print("crepe-client: error: the server refused our credentials (" +
                        std::string(StatusCodeName(s.code())) +
                        "): stopping; the inputs not sent are listed as failed (check --token-file, --cert/--key)");
      }
    }
    StartNext();
    std::lock_guard<std::mutex> lock(mutex_);
    if (!s.ok()) failed_lines_.push_back(ManifestLine(input));
    ++finished_;
    done_.notify_all();
  }

  Status WriteOutputs(const InputFile& input, const RemoteResult& r) const {
    const std::string stem = OutputStem(input, options_.output_dir);
    SidecarRecord record;
    record.input = input.path;
    record.model_name = r.model_name.empty() ? options_.analysis.model : r.model_name;
    record.weights_sha256 = r.weights_sha256;
    record.device = r.device;
    record.server = r.server;
    record.request_id = input.relative_stem;
    record.frames = r.prediction.frames();
    record.audio_seconds = r.audio_seconds;
    const std::string base = fs::path(stem).filename().string();
    for (const std::string& suffix : OutputSuffixes(options_.analysis.outputs)) record.outputs.push_back(base + suffix);
    return WriteOutputsAndSidecar(r.prediction, stem, options_.analysis.outputs, SidecarPath(stem),
                                  EncodeSidecar(options_.analysis, record));
  }

  const BulkOptions& options_;
  const std::vector<InputFile> todo_;
  ServerPool pool_;
  BulkProgress progress_;
  RemotePredictor predictor_;
  std::atomic<size_t> next_{0};
  std::atomic<bool> refused_{false};  // a call was refused for its credentials: send no more
  std::mutex mutex_;
  std::condition_variable done_;
  size_t finished_ = 0;
  std::vector<std::string> failed_lines_;
  // Last, so that their threads are joined before anything their tasks use goes away.
  ThreadPool workers_;
  DelayQueue delays_;
};

// failed.txt: one manifest line per failed input, sorted, so it can be fed back with --manifest.
Status WriteFailedList(const BulkOptions& options, std::vector<std::string> lines) {
  if (lines.empty() && !options.failed_list_explicit) {
    std::error_code ec;
    fs::remove(options.failed_list, ec);  // a stale list from an earlier run would mislead
    return Status::Ok();
  }
  std::sort(lines.begin(), lines.end());
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  return WriteFileAtomically(options.failed_list, text);
}

}  // namespace

int RunBulk(const BulkOptions& options, const std::vector<InputFile>& inputs,
            const std::vector<ListingError>& listing_errors) {
  // Resume: an input whose sidecar records these settings and whose outputs all exist is done.
  std::vector<InputFile> todo;
  size_t skipped = 0;
  int64_t bytes = 0;
  for (const InputFile& input : inputs) {
    if (!options.overwrite && OutputsComplete(OutputStem(input, options.output_dir), options.analysis)) {
      ++skipped;
      continue;
    }
    bytes += FileBytes(input.path);
    todo.push_back(input);
  }
  std::vector<std::string> failed_lines;
  for (const ListingError& e : listing_errors) {
    std::fprintf(stderr, "crepe-client: error: %s\n", e.status.message().c_str());
    if (!e.entry.empty()) failed_lines.push_back(e.entry);
  }
  BulkRun run(options, std::move(todo), skipped, bytes);
  const std::vector<std::string> failures = run.Run();
  failed_lines.insert(failed_lines.end(), failures.begin(), failures.end());
  run.progress().Summarise(listing_errors.size());
  if (Status s = WriteFailedList(options, failed_lines); !s.ok()) {
    std::fprintf(stderr, "crepe-client: error: cannot write the list of failed inputs: %s\n", s.message().c_str());
    return 1;
  }
  const size_t failed = failures.size() + listing_errors.size();
  if (failed == 0) return 0;
  std::fprintf(stderr, "crepe-client: %zu input(s) failed; listed in %s\n", failed, options.failed_list.c_str());
  return 1;
}

}  // namespace crepe::client
