// StreamPredict: a config message, then audio chunks; results stream back as they become final
// (gRPC callback API).
//
// Threads: gRPC's threads run the reactions (OnReadDone, OnWriteDone, OnCancel, OnDone); the
// job's strand calls the JobSink methods; the housekeeper calls OnIdle. Every one of them takes
// mutex_ only to update the state below and to start reads and writes (gRPC never runs a
// reaction inside those), decides there whether the call is over, and calls Finish after
// releasing it, as its last action: OnDone (gRPC's executor) may delete the call right after.
// Decoding audio, encoding results and everything heavier happen on the job's strand.
//
// Flow control: the next message is read only when the job asks for audio, and the job stops
// asking while its window is full, which includes results given to us but not yet written to
// the wire (we report each write with PitchJob::Written). So a client that does not read its
// results stops the server reading its audio, and the messages waiting here stay bounded.
#pragma once

#include <grpcpp/grpcpp.h>

#include <deque>
#include <memory>
#include <mutex>
#include <optional>

#include "crepe/v1/pitch.grpc.pb.h"
#include "service_context.h"

namespace crepe::server {

class StreamCall final : public grpc::ServerBidiReactor<v1::StreamRequest, v1::StreamResponse>,
                         public JobSink,
                         public IdleWatched {
 public:
  StreamCall(ServiceContext& context, grpc::CallbackServerContext* call);

  // gRPC.
  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  // JobSink (the job's strand).
  void OnReadyForAudio() override;
  void OnResults(Prediction rows, int64_t first_frame) override;
  void OnFinished(const Status& status, const JobSummary& summary) override;

  // IdleWatched (the housekeeper's thread).
  void OnIdle(double idle_s) override;

 private:
  struct Outgoing {
    v1::StreamResponse message;
    int64_t frames = 0;  // result frames it carries (reported to the job once written)
  };
  Status StartJobLocked();
  void StartReadLocked();
  // Starts the next write if none is under way. Returns the status to finish the call with when
  // it is now due: the caller calls Finish with it after unlocking, as its last action.
  std::optional<grpc::Status> PumpLocked();
  std::optional<grpc::Status> BeginFinishLocked(const Status& status);
  void EchoIdLocked();  // x-request-id into the initial metadata, if not done yet
  void UpdateIdleClockLocked();

  ServiceContext& context_;
  grpc::CallbackServerContext* const call_;
  const std::shared_ptr<SinkHandle> handle_;
  CallAdmission::Ticket ticket_;
  rpc::WireOutputs outputs_;  // fixed once the config is read
  int64_t max_frames_per_message_ = 1;

  std::mutex mutex_;  // guards what follows
  v1::StreamRequest incoming_;
  Outgoing outgoing_;
  std::deque<Outgoing> pending_;
  std::shared_ptr<PitchJob> job_;
  v1::SampleFormat format_ = v1::SAMPLE_FORMAT_UNSPECIFIED;
  int sample_rate_ = 0;
  int channels_ = 1;
  bool reading_ = false, writing_ = false, half_closed_ = false;
  bool finishing_ = false, finish_called_ = false, idle_handled_ = false;
  bool id_echoed_ = false;  // x-request-id added to the initial metadata (once, before any write)
  Status finish_status_;
  Status idle_status_;  // set when the housekeeper cancels a stream that is not reading
  CallRecord record_;
};

}  // namespace crepe::server
