// crepe-server: loads the models, serves crepe.v1.PitchService with health and reflection, and
// shuts down gracefully on SIGTERM/SIGINT (NOT_SERVING, calls in progress finish, exit 0).
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "crepe/file_io.h"
#include "crepe/thread_pool.h"
#include "log_format.h"
#include "metrics_endpoint.h"
#include "model_registry.h"
#include "pitch_service.h"
#include "server_options.h"
#include "transport_security.h"

namespace {

constexpr const char* kServiceName = "crepe.v1.PitchService";

void SetServing(grpc::Server& server, bool serving) {
  grpc::HealthCheckServiceInterface* health = server.GetHealthCheckService();
  if (health == nullptr) return;
  health->SetServingStatus(serving);
  health->SetServingStatus(kServiceName, serving);
}

int Milliseconds(double seconds) { return static_cast<int>(std::min(seconds * 1000, 2e9)); }

// Keepalive and connection age (server_options.h says why).
void ApplyConnectionSettings(const crepe::server::ServerOptions& o, grpc::ServerBuilder& builder) {
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, Milliseconds(o.keepalive_time_s));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, Milliseconds(o.keepalive_timeout_s));
  // Clients may ping too (crepe-client every 60 s), even between calls, but not more often than
  // every 10 s: more is answered with GOAWAY (gRPC's ping strikes).
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  if (o.max_connection_age_s > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, Milliseconds(o.max_connection_age_s));
    if (o.max_connection_age_grace_s > 0) {
      builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, Milliseconds(o.max_connection_age_grace_s));
    }
  }
}

void WritePortFile(const std::string& path, int port) {
  if (path.empty()) return;
  const crepe::Status s = crepe::WriteFileAtomically(path, std::to_string(port) + "\n");
  if (!s.ok()) spdlog::error("cannot write the port file: {}", s.ToString());
}

int Run(const crepe::server::ServerOptions& options) {
  auto security = crepe::server::MakeServerSecurity(options);
  if (!security.ok()) {
    spdlog::critical("{}", security.status().message());
    return 2;
  }
  for (const std::string& warning : security->warnings) spdlog::warn("{}", warning);

  // Signals are taken by sigwait below; every thread started from here on inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  crepe::server::ModelRegistry models(options);
  const int workers = options.workers > 0 ? options.workers : std::max(2u, std::thread::hardware_concurrency());
  auto pool = std::make_unique<crepe::ThreadPool>(workers);
  crepe::server::PitchService service(models, *pool, options);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen, security->credentials, &port);
  builder.SetMaxReceiveMessageSize(options.max_message_mb << 20);
  // gRPC grows each call's receive window with the bandwidth it measures (BDP probing), so a client
  // could have it buffer megabytes of input the server has not asked for yet; a fixed window bounds
  // that to --stream-window-kb per call.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, options.stream_window_kb << 10);
  builder.SetMaxSendMessageSize(options.max_message_mb << 20);
  ApplyConnectionSettings(options, builder);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    spdlog::critical("cannot listen on {} ({}: is the address free, and do the certificate and key match?)",
                     options.listen, security->summary);
    return 1;
  }
  SetServing(*server, false);
  std::unique_ptr<crepe::server::MetricsEndpoint> metrics;
  if (!options.metrics_listen.empty()) {
    auto started =
        crepe::server::MetricsEndpoint::Start(options.metrics_listen, [&service] { return service.RenderMetrics(); });
    if (!started.ok()) {
      spdlog::critical("{}", started.status().message());
      server->Shutdown(std::chrono::system_clock::now());
      return 1;
    }
    metrics = std::move(*started);
    spdlog::info("metrics at http://{}/metrics (port {}, plain HTTP)", options.metrics_listen, metrics->port());
    WritePortFile(options.metrics_port_file, metrics->port());
  }
  spdlog::info("listening on {} (port {}, {}); loading models from {}", options.listen, port, security->summary,
               options.models_dir);
  WritePortFile(options.port_file, port);

  std::atomic<int> exit_code{0};
  std::atomic<bool> stop_loading{false};
  std::atomic<bool> loader_done{false};
  std::thread loader([&] {
    const crepe::Status s = models.LoadAll(stop_loading);
    // Done before any call can be taken: a signal that finds the loader unfinished knows that
    // no call is in progress (and StartAccepting cannot undo BeginShutdown).
    loader_done = true;
    if (!s.ok() && !stop_loading.load()) {
      spdlog::critical("not serving: {}", s.ToString());
      exit_code = 1;
      kill(getpid(), SIGTERM);
    } else if (s.ok()) {
      service.StartAccepting();
      SetServing(*server, true);
      spdlog::info("SERVING");
    }
  });

  int received = 0;
  sigwait(&signals, &received);
  const char* signal_name = received == SIGINT ? "SIGINT" : "SIGTERM";
  service.BeginShutdown();
  if (!loader_done.load()) {
    // No call was ever taken, so there is nothing to drain; a model being loaded cannot be
    // interrupted, and waiting for every model to load would delay the exit by seconds.
    stop_loading = true;
    spdlog::info("{} while loading the models: exiting without waiting for them", signal_name);
    server->Shutdown(std::chrono::system_clock::now());
    spdlog::shutdown();  // flushes
    std::_Exit(0);
  }
  loader.join();  // it is past loading: at most it is reporting SERVING
  SetServing(*server, false);
  spdlog::info("{}: shutting down (calls in progress have {} s to finish)", signal_name, options.shutdown_grace_s);
  server->Shutdown(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(static_cast<int64_t>(options.shutdown_grace_s * 1000)));
  models.StopBatchers();
  pool.reset();  // runs what is left, then joins
  server->Wait();
  spdlog::info("stopped");
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  crepe::server::ServerOptions options;
  const int code = crepe::server::ParseServerOptions(argc, argv, options);
  if (code >= 0) return code;
  if (const crepe::Status s = crepe::server::ConfigureLogging(options.log_level, options.log_format); !s.ok()) {
    std::fprintf(stderr, "crepe-server: %s\n", s.message().c_str());
    return 2;
  }
  return Run(options);
}
