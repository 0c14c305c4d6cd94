// The Prometheus endpoint: GET /metrics over plain HTTP on its own address (off unless
// --metrics-listen is given), served by GNU libmicrohttpd (Debian's libmicrohttpd-dev). Anything
// but GET or HEAD of /metrics gets 404 or 405; request bodies are refused; connections are capped
// and time out, so a scraper or a stranger cannot make it hold more than a few small buffers.
//
// Threads: Start and the destructor from the owner (crepe-server's main thread); `render` is
// called on libmicrohttpd's one polling thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "crepe/status.h"

struct MHD_Daemon;

namespace crepe::server {

class MetricsEndpoint {
 public:
  using Render = std::function<std::string()>;
  // `listen` as HOST:PORT ("127.0.0.1:9464"; port 0: any free port; "0.0.0.0:9464", "[::]:9464").
  static Result<std::unique_ptr<MetricsEndpoint>> Start(const std::string& listen, Render render);
  ~MetricsEndpoint();  // stops serving
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  int port() const { return port_; }

 private:
  explicit MetricsEndpoint(Render render) : render_(std::move(render)) {}

  Render render_;
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;
};

}  // namespace crepe::server
