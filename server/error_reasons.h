// The reasons the server attaches to errors a client acts on (crepe::Status::reason, sent as
// google.rpc.ErrorInfo{reason, domain "crepe.v1"}). They are the names of crepe.v1.ErrorReason in
// proto/crepe/v1/pitch.proto, which documents them for clients; a service test checks that every
// one here is a value there.
#pragma once

namespace crepe::server::reasons {

inline constexpr const char* kQueueFull = "QUEUE_FULL";
inline constexpr const char* kTooManyCalls = "TOO_MANY_CALLS";
inline constexpr const char* kPeerCallLimit = "PEER_CALL_LIMIT";
inline constexpr const char* kResponseTooLarge = "RESPONSE_TOO_LARGE";
inline constexpr const char* kHeldResultsTooLarge = "HELD_RESULTS_TOO_LARGE";
inline constexpr const char* kStreamIdle = "STREAM_IDLE";
inline constexpr const char* kBatchFailed = "BATCH_FAILED";
inline constexpr const char* kShuttingDown = "SHUTTING_DOWN";

inline constexpr const char* kAll[] = {kQueueFull,           kTooManyCalls, kPeerCallLimit, kResponseTooLarge,
                                       kHeldResultsTooLarge, kStreamIdle,   kBatchFailed,   kShuttingDown};

}  // namespace crepe::server::reasons
