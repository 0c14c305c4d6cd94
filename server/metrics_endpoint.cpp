#include "metrics_endpoint.h"

#include <microhttpd.h>
#include <netdb.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <exception>

namespace crepe::server {
namespace {

constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";
constexpr unsigned kMaxConnections = 16;
constexpr unsigned kConnectionTimeoutS = 30;

void LogLibmicrohttpd(void*, const char* format, va_list args) {
  char message[512];
  std::vsnprintf(message, sizeof message, format, args);
  spdlog::warn("metrics endpoint: {}", message);
}

// HOST:PORT (HOST may be [v6]) -> an address to bind.
Result<sockaddr_storage> ResolveListen(const std::string& listen, socklen_t* length) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size()) {
    return InvalidArgumentError("--metrics-listen expects HOST:PORT, e.g. 127.0.0.1:9464 (got '" + listen + "')");
  }
  std::string host = listen.substr(0, colon);
  const std::string port = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return InvalidArgumentError("--metrics-listen '" + listen + "': " + ::gai_strerror(rc));
  }
  sockaddr_storage address{};
  std::memcpy(&address, found->ai_addr, found->ai_addrlen);
  *length = found->ai_addrlen;
  ::freeaddrinfo(found);
  return address;
}

MHD_Result Reply(MHD_Connection* connection, unsigned status, const std::string& body, const char* type, bool head) {
  MHD_Response* response =
      MHD_create_response_from_buffer(head ? 0 : body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  const MHD_Result queued = MHD_queue_response(connection, status, response);
  MHD_destroy_response(response);
  return queued;
}

// libmicrohttpd's access handler; `render` is the endpoint's MetricsEndpoint::Render.
MHD_Result HandleRequest(void* render, MHD_Connection* connection, const char* url, const char* method, const char*,
                         const char*, size_t* upload_data_size, void** request_state) {
  // libmicrohttpd calls once when the headers are in (request_state still null), then for each
  // piece of a body, then once more at its end. Everything but a bodiless GET or HEAD of /metrics
  // is answered as soon as the headers are in.
  const bool head = std::strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
  if (*request_state == nullptr) {
    if (!head && std::strcmp(method, MHD_HTTP_METHOD_GET) != 0) {
      return Reply(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET /metrics\n", "text/plain", false);
    }
    if (std::strcmp(url, "/metrics") != 0) {
      return Reply(connection, MHD_HTTP_NOT_FOUND, "the metrics are at /metrics\n", "text/plain", false);
    }
    const char* body_length = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if ((body_length != nullptr && std::strcmp(body_length, "0") != 0) ||
        MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING) != nullptr) {
      return Reply(connection, MHD_HTTP_CONTENT_TOO_LARGE, "no request body is accepted\n", "text/plain", false);
    }
    static int headers_seen;
    *request_state = &headers_seen;
    return MHD_YES;
  }
  if (*upload_data_size != 0) return MHD_NO;  // a body after all: drop the connection
  try {
    return Reply(connection, MHD_HTTP_OK, (*static_cast<const MetricsEndpoint::Render*>(render))(), kContentType, head);
  } catch (const std::exception& e) {
    spdlog::error("metrics endpoint: rendering failed: {}", e.what());
    return Reply(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "rendering the metrics failed\n", "text/plain", false);
  }
}

}  // namespace

Result<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(const std::string& listen, Render render) {
  socklen_t length = 0;
  CREPE_ASSIGN_OR_RETURN(sockaddr_storage address, ResolveListen(listen, &length));
  std::unique_ptr<MetricsEndpoint> endpoint(new MetricsEndpoint(std::move(render)));
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
  if (address.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
  endpoint->daemon_ = MHD_start_daemon(flags, 0, nullptr, nullptr, &HandleRequest, &endpoint->render_,  //
                                       MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&address),     //
                                       MHD_OPTION_CONNECTION_LIMIT, kMaxConnections,                    //
                                       MHD_OPTION_CONNECTION_TIMEOUT, kConnectionTimeoutS,              //
                                       MHD_OPTION_EXTERNAL_LOGGER, &LogLibmicrohttpd, nullptr, MHD_OPTION_END);
  if (endpoint->daemon_ == nullptr) {
    return UnavailableError("cannot serve metrics on " + listen + " (is the address free?)");
  }
  if (const MHD_DaemonInfo* info = MHD_get_daemon_info(endpoint->daemon_, MHD_DAEMON_INFO_BIND_PORT)) {
    endpoint->port_ = info->port;
  }
  return endpoint;
}

MetricsEndpoint::~MetricsEndpoint() {
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
}

}  // namespace crepe::server
