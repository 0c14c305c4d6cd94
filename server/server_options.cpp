#include "server_options.h"

#include <CLI/CLI.hpp>
#include <cstdlib>

#include "crepe/capacity.h"
#include "crepe/model.h"

namespace crepe::server {

int ParseServerOptions(int argc, char** argv, ServerOptions& o) {
  CLI::App app{
      "crepe-server: the CREPE pitch service (gRPC, package crepe.v1). Loads every model at start-up,\n"
      "warms it up, then reports SERVING on grpc.health.v1. Every flag can also be set through the\n"
      "environment variable named after it."};
  app.add_option("--listen", o.listen, "Address to listen on, HOST:PORT (port 0: any free port)")
      ->envname("CREPE_LISTEN")
      ->capture_default_str();
  app.add_option("--port-file", o.port_file, "Write the bound port to this file once listening")
      ->envname("CREPE_PORT_FILE");
  app.add_option("--metrics-listen", o.metrics_listen,
                 "Serve Prometheus metrics over plain HTTP at http://HOST:PORT/metrics (off unless given)")
      ->envname("CREPE_METRICS_LISTEN");
  app.add_option("--metrics-port-file", o.metrics_port_file, "Write the bound metrics port to this file")
      ->envname("CREPE_METRICS_PORT_FILE");
  app.add_option("--device", o.device, "auto, cpu, cuda or cuda:N")->envname("CREPE_DEVICE")->capture_default_str();
  app.add_option("--models-dir", o.models_dir, "Folder of <capacity>.h5 weights (default: the project's models/)")
      ->envname("CREPE_MODELS_DIR");
  app.add_flag("--allow-unofficial-weights", o.allow_unofficial_weights,
               "Read weight files other than the official ones (by sha256): only files you trust, since the HDF5 "
               "library is not safe on crafted files")
      ->envname("CREPE_ALLOW_UNOFFICIAL_WEIGHTS");
  app.add_option("--models", o.models, "Capacities to load (comma-separated)")
      ->delimiter(',')
      ->envname("CREPE_MODELS")
      ->capture_default_str();
  app.add_option("--max-batch", o.max_batch, "Frames per network call (0: 256 on CPU, 1024 on CUDA)")
      ->envname("CREPE_MAX_BATCH")
      ->check(CLI::Range(int64_t{0}, int64_t{65536}));
  app.add_option("--precision", o.precision,
                 "Arithmetic of every model's forward pass: fp32 (parity with the original), tf32, bf16 or fp16 "
                 "(see docs/service.md for measured accuracy)")
      ->envname("CREPE_PRECISION")
      ->check(CLI::IsMember({"fp32", "tf32", "bf16", "fp16"}))
      ->capture_default_str();
  app.add_option("--model-precision", o.model_precision,
                 "Per-model exceptions to --precision, comma-separated MODEL=PRECISION (e.g. tiny=bf16,full=fp16)")
      ->delimiter(',')
      ->envname("CREPE_MODEL_PRECISION");
  app.add_option("--pass-frames", o.pass_frames,
                 "Frames per forward pass, a multiple of 8 (0: 32 on CPU, 1024 on CUDA); bench/gpu/run.sh "
                 "measures the choices")
      ->envname("CREPE_PASS_FRAMES")
      ->check(CLI::Range(int64_t{0}, int64_t{65536}))
      ->check([](const std::string& v) { return std::stoll(v) % 8 == 0 ? std::string() : "must be a multiple of 8"; })
      ->capture_default_str();
  app.add_flag("--cuda-graphs,!--no-cuda-graphs", o.cuda_graphs,
               "CUDA: replay each model's forward pass as a captured CUDA graph (default on)")
      ->envname("CREPE_CUDA_GRAPHS");
  app.add_option("--conv-layout", o.conv_layout, "Convolution tensor layout: auto, channels_first or channels_last")
      ->envname("CREPE_CONV_LAYOUT")
      ->check(CLI::IsMember({"auto", "channels_first", "channels_last"}))
      ->capture_default_str();
  app.add_option("--frame-cutting", o.frame_cutting,
                 "Where frames are cut from the audio and normalised: host, device (the samples cross to the GPU "
                 "once instead of 6.4 times at a 10 ms hop), or auto (device on CUDA, host on CPU)")
      ->envname("CREPE_FRAME_CUTTING")
      ->check(CLI::IsMember({"auto", "host", "device"}))
      ->capture_default_str();
  app.add_option("--frame-summaries", o.frame_summaries,
                 "Where each frame's most active bin, confidence and local average are computed: host, device "
                 "(32 bytes a frame come back instead of 1440 of activations, except in batches holding a call that "
                 "asked for activations or decodes with Viterbi), or auto (device on CUDA, host on CPU)")
      ->envname("CREPE_FRAME_SUMMARIES")
      ->check(CLI::IsMember({"auto", "host", "device"}))
      ->capture_default_str();
  app.add_option("--viterbi-decoding", o.viterbi_decoding,
                 "Where Viterbi calls' paths are decided: host (in each call's session, from the activations, which "
                 "then come back), device (each call's scores and undecided activation rows stay on the device; the "
                 "forward steps of a batch's calls run together there, in one kernel launch where this build has the "
                 "CUDA kernels; needs --frame-summaries on the device), or auto (device on CUDA where frames are "
                 "summarised on the device and the kernels are built)")
      ->envname("CREPE_VITERBI_DECODING")
      ->check(CLI::IsMember({"auto", "host", "device"}))
      ->capture_default_str();
  app.add_option("--batch-delay-ms", o.batch_delay_ms, "Longest a frame waits for its batch to fill")
      ->envname("CREPE_BATCH_DELAY_MS")
      ->check(CLI::Range(0.0, 10000.0))
      ->capture_default_str();
  app.add_option("--max-queued-frames", o.max_queued_frames,
                 "Per model: frames the calls in progress may hold in its queue (4 KiB each); a call reserves "
                 "its window when it starts, and gets RESOURCE_EXHAUSTED (QUEUE_FULL) when there is no room")
      ->envname("CREPE_MAX_QUEUED_FRAMES")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30))
      ->capture_default_str();
  app.add_option("--call-window-frames", o.call_window_frames,
                 "Frames one call keeps in flight, cut and not yet answered (0: twice --max-batch)")
      ->envname("CREPE_CALL_WINDOW_FRAMES")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20))
      ->capture_default_str();
  app.add_option("--max-message-mb", o.max_message_mb, "Largest message received or sent, MiB")
      ->envname("CREPE_MAX_MESSAGE_MB")
      ->check(CLI::Range(1, 2047))
      ->capture_default_str();
  app.add_option("--max-requests", o.max_requests, "Calls in progress at once before RESOURCE_EXHAUSTED")
      ->envname("CREPE_MAX_REQUESTS")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--max-requests-per-peer", o.max_requests_per_peer,
                 "Calls in progress at once from one client address before RESOURCE_EXHAUSTED (PEER_CALL_LIMIT)")
      ->envname("CREPE_MAX_REQUESTS_PER_PEER")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--stream-idle-timeout-s", o.stream_idle_timeout_s,
                 "End a stream that neither sends nor reads a message for this long (0: never)")
      ->envname("CREPE_STREAM_IDLE_TIMEOUT_S")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  app.add_option("--max-held-mb", o.max_held_mb,
                 "Per stream: MiB of results held until they are final (hysteresis, a clip-relative silence gate "
                 "and undecided Viterbi paths hold them) before RESOURCE_EXHAUSTED")
      ->envname("CREPE_MAX_HELD_MB")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  app.add_option("--stream-window-kb", o.stream_window_kb,
                 "HTTP/2 receive window per call, KiB: how much of a call's input gRPC takes before the server "
                 "reads it (fixed: the window does not grow with the measured bandwidth)")
      ->envname("CREPE_STREAM_WINDOW_KB")
      ->check(CLI::Range(64, 1 << 20))
      ->capture_default_str();
  app.add_flag("--synthetic-weights", o.synthetic_weights,
               "Benchmarks only: serve deterministic stand-in weights instead of the weight files (the pitch is "
               "meaningless; speed is not)")
      ->envname("CREPE_SYNTHETIC_WEIGHTS")
      ->group("");  // hidden from --help
  app.add_option("--test-fail-request-prefix", o.test_fail_request_prefix,
                 "Testing only: every batch holding frames of a call whose request_id starts with this fails")
      ->envname("CREPE_TEST_FAIL_REQUEST_PREFIX")
      ->group("");  // hidden from --help
  app.add_option("--workers", o.workers, "Threads preparing frames and results (0: one per core)")
      ->envname("CREPE_WORKERS")
      ->check(CLI::Range(0, 1024));
  app.add_option("--shutdown-grace-s", o.shutdown_grace_s, "On SIGTERM/SIGINT, how long calls in progress may finish")
      ->envname("CREPE_SHUTDOWN_GRACE_S")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  app.add_option("--tls-cert", o.tls_cert, "TLS: the server's certificate chain (PEM); needs --tls-key")
      ->envname("CREPE_TLS_CERT")
      ->group("Security");
  app.add_option("--tls-key", o.tls_key, "TLS: the server's private key (PEM)")
      ->envname("CREPE_TLS_KEY")
      ->group("Security");
  app.add_option("--tls-client-ca", o.tls_client_ca,
                 "Mutual TLS: require a client certificate signed by this CA (PEM); needs --tls-cert")
      ->envname("CREPE_TLS_CLIENT_CA")
      ->group("Security");
  app.add_option("--token-file", o.token_file,
                 "Require 'authorization: Bearer <token>' with one of the tokens in this file (one per line; "
                 "$CREPE_TOKENS adds comma-separated ones) on every call but health; needs TLS")
      ->envname("CREPE_TOKEN_FILE")
      ->group("Security");
  app.add_flag("--allow-insecure", o.allow_insecure,
               "Allow a --listen address other machines can reach without TLS (a private network, or TLS ended "
               "in front of the server); logged as a warning")
      ->envname("CREPE_ALLOW_INSECURE")
      ->group("Security");
  app.add_option("--keepalive-time-s", o.keepalive_time_s, "Ping a connection that has been quiet this long")
      ->envname("CREPE_KEEPALIVE_TIME_S")
      ->check(CLI::Range(1.0, 86400.0))
      ->capture_default_str()
      ->group("Connections");
  app.add_option("--keepalive-timeout-s", o.keepalive_timeout_s, "Drop a connection whose ping is unanswered this long")
      ->envname("CREPE_KEEPALIVE_TIMEOUT_S")
      ->check(CLI::Range(1.0, 3600.0))
      ->capture_default_str()
      ->group("Connections");
  app.add_option("--max-connection-age-s", o.max_connection_age_s,
                 "Ask clients to reconnect after this long (+-10 %), so that load balancers spread long-lived "
                 "connections anew (0: never)")
      ->envname("CREPE_MAX_CONNECTION_AGE_S")
      ->check(CLI::Range(0.0, 86400.0 * 365))
      ->capture_default_str()
      ->group("Connections");
  app.add_option("--max-connection-age-grace-s", o.max_connection_age_grace_s,
                 "Then, how long calls in progress on the old connection may go on (0: until they end)")
      ->envname("CREPE_MAX_CONNECTION_AGE_GRACE_S")
      ->check(CLI::Range(0.0, 86400.0 * 365))
      ->capture_default_str()
      ->group("Connections");
  app.add_option("--log-level", o.log_level, "trace, debug, info, warn, error")
      ->envname("CREPE_LOG_LEVEL")
      ->capture_default_str();
  app.add_option("--log-format", o.log_format, "text, or json: one JSON object per line (time, level, msg)")
      ->envname("CREPE_LOG_FORMAT")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.callback([&] {
    for (const std::string& m : o.models) {
      if (!ParseCapacity(m).ok()) throw CLI::ValidationError("--models", "unknown model '" + m + "'");
    }
    if (o.models.empty()) throw CLI::ValidationError("--models", "at least one model is needed");
    for (const std::string& entry : o.model_precision) {
      const size_t eq = entry.find('=');
      if (eq == std::string::npos || !ParseCapacity(entry.substr(0, eq)).ok() ||
          !ParsePrecision(entry.substr(eq + 1)).ok()) {
        throw CLI::ValidationError("--model-precision",
                                   "'" + entry + "' is not MODEL=PRECISION (tiny..full = fp32, tf32, bf16 or fp16)");
      }
    }
    if (o.viterbi_decoding == "device" && o.frame_summaries == "host") {
      throw CLI::ValidationError(
          "--viterbi-decoding device needs the frames summarised on the device: "
          "--frame-summaries device or auto");
    }
    if (o.models_dir.empty()) o.models_dir = CREPE_DEFAULT_MODELS_DIR;
    if (o.tls_cert.empty() != o.tls_key.empty()) throw CLI::ValidationError("--tls-cert and --tls-key go together");
    if (!o.tls_client_ca.empty() && o.tls_cert.empty()) {
      throw CLI::ValidationError("--tls-client-ca needs TLS: give --tls-cert and --tls-key");
    }
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return -1;
}

std::string PrecisionOf(const ServerOptions& options, const std::string& model) {
  std::string precision = options.precision;
  for (const std::string& entry : options.model_precision) {
    const size_t eq = entry.find('=');
    if (eq != std::string::npos && entry.substr(0, eq) == model) precision = entry.substr(eq + 1);
  }
  return ParsePrecision(precision).ok() ? precision : "fp32";
}

}  // namespace crepe::server
