// crepe-server's settings, from flags or CREPE_* environment variables, with safe defaults.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace crepe::server {

struct ServerOptions {
  std::string listen = "127.0.0.1:50051";  // loopback unless told otherwise
  std::string port_file;                   // the bound port is written here once listening
  std::string device = "auto";             // auto (CUDA when present), cpu, cuda, cuda:N
  std::string models_dir;
  std::vector<std::string> models = {"tiny", "small", "medium", "large", "full"};
  bool allow_unofficial_weights = false;
  bool synthetic_weights = false;  // benchmarks only: serve MakeSyntheticWeights (meaningless pitch)  // parse weight
                                   // files other than the official ones (weights.h)
  int64_t max_batch = 0;           // frames per network call; 0 = 256 on CPU, on CUDA 1024 or the pass size if larger
  // The forward pass (model.h): precision for every model, with per-model exceptions
  // ("tiny=bf16"); frames per pass (0: the device's default); CUDA graphs; tensor layout.
  std::string precision = "fp32";
  std::vector<std::string> model_precision;
  int64_t pass_frames = 0;
  bool cuda_graphs = true;
  std::string conv_layout = "auto";
  // Where frames are cut and normalised: auto (on the device for CUDA, here for CPU), host, device.
  std::string frame_cutting = "auto";
  // Where frames are summarised for decoding (most active bin, confidence, local average): auto
  // (on the device for CUDA, here for CPU), host, device.
  std::string frame_summaries = "auto";
  // Where Viterbi calls' paths are decided: auto (on CUDA where frames are summarised there and
  // the fused kernels are built), host, device (needs frames summarised on the device).
  std::string viterbi_decoding = "auto";
  double batch_delay_ms = 2.0;
  // Per model: frames the calls in progress may hold in the model's queue (4 KiB each). Each call
  // reserves its window from it when it starts.
  int64_t max_queued_frames = 65536;
  int64_t call_window_frames = 0;  // frames a call keeps in flight; 0 = 2 x the batch size
  int max_message_mb = 64;
  int max_requests = 256;                // calls in progress at once
  int max_requests_per_peer = 64;        // ... from one client address
  double stream_idle_timeout_s = 60;     // 0: never
  int max_held_mb = 256;                 // per stream: results not final yet (hysteresis, clip-relative gate, Viterbi)
  int stream_window_kb = 1024;           // HTTP/2 receive window per call: unread input gRPC may hold
  int workers = 0;                       // threads preparing frames and results; 0 = one per core
  std::string test_fail_request_prefix;  // test hook: batches holding such calls' frames fail
  double shutdown_grace_s = 30.0;
  // Connections: the server pings a connection idle this long and drops it when no answer comes
  // within the timeout (dead clients, half-open TCP behind NAT); every connection is told to go
  // away after max_connection_age_s (+-10 %), so that clients reconnect and balancers spread them
  // anew; calls in progress then have max_connection_age_grace_s to finish (0: as long as they need).
  double keepalive_time_s = 60, keepalive_timeout_s = 20;
  double max_connection_age_s = 300, max_connection_age_grace_s = 0;
  // Prometheus metrics (metrics_endpoint.h): plain HTTP GET /metrics on this address; off when empty.
  std::string metrics_listen;
  std::string metrics_port_file;  // the bound metrics port is written here
  std::string log_level = "info";
  std::string log_format = "text";  // or json (log_format.h)
  // Security (transport_security.h): TLS when both cert and key are given; client certificates
  // signed by tls_client_ca required when it is given; bearer tokens from token_file (and
  // $CREPE_TOKENS) required, except for the health service, when there are any.
  std::string tls_cert, tls_key, tls_client_ca, token_file;
  bool allow_insecure = false;  // a non-loopback --listen address without TLS
};

// Parses argv (flags override the environment). Returns the exit code to stop with (help, or
// a usage error already printed), or -1 to go on.
int ParseServerOptions(int argc, char** argv, ServerOptions& options);

// The precision a model runs at: its --model-precision entry, else --precision (both validated
// by ParseServerOptions; "fp32" if unparsable).
std::string PrecisionOf(const ServerOptions& options, const std::string& model);

}  // namespace crepe::server
