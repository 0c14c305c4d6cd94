#include "support/server_process.h"

#include <fcntl.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "crepe/capacity.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "support/test_paths.h"

namespace crepe::test {
namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The port number in the server's port file, once it is whole: a line that ends in a newline, or
// the same text on two reads in a row (`previous` holds the last read).
int ReadPort(const std::string& path, std::string& previous) {
  const std::string text = ReadWhole(path);
  const bool whole = !text.empty() && (text.back() == '\n' || text == previous);
  previous = text;
  if (!whole) return 0;
  try {
    size_t used = 0;
    const int port = std::stoi(text, &used);
    return port > 0 && port < 65536 ? port : 0;
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

std::unique_ptr<ChildProcess> ChildProcess::Start(const std::vector<std::string>& argv, const std::string& log_path,
                                                  std::string* error) {
  if (argv.empty() || !fs::exists(argv[0])) {
    if (error) *error = "program not found: " + (argv.empty() ? std::string("(none)") : argv[0]);
    return nullptr;
  }
  const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log < 0) {
    if (error) *error = "cannot create " + log_path + ": " + std::strerror(errno);
    return nullptr;
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec. It dies with the test process, even one a
    // sanitizer or a crash ends without running destructors.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    const int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, STDIN_FILENO);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(log);
  if (pid < 0) {
    if (error) *error = std::string("fork failed: ") + std::strerror(errno);
    return nullptr;
  }
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid, log_path));
}

ChildProcess::~ChildProcess() {
  if (!Reap(false)) {
    ::kill(pid_, SIGKILL);
    Reap(true);
  }
}

bool ChildProcess::Reap(bool block) {
  if (exited_) return true;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  if (r != pid_) return false;
  exited_ = true;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
  return true;
}

bool ChildProcess::Signal(int sig) { return !Reap(false) && ::kill(pid_, sig) == 0; }

bool ChildProcess::Running() { return !Reap(false); }

int ChildProcess::WaitExit(double timeout_s) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  while (!Reap(false)) {
    if (Clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return exit_code_;
}

std::string ChildProcess::Log() const { return ReadWhole(log_path_); }

bool HealthServing(const std::string& address, double timeout_s) {
  auto stub = grpc::health::v1::Health::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(
      std::chrono::system_clock::now() +
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(timeout_s)));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status s = stub->Check(&context, request, &response);
  return s.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

int UnusedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

std::unique_ptr<ServerProcess> ServerProcess::Start(const std::vector<std::string>& extra_args, std::string* error,
                                                    double timeout_s, bool wait_for_serving) {
  std::unique_ptr<ServerProcess> server(new ServerProcess());
  server->dir_ = MakeTempDir("server");
  const std::string port_file = server->dir_ + "/port";
  // The folder of the fetched weights; CREPE_MODELS_DIR in the environment overrides, as for
  // the other suites.
  const std::string models_dir = fs::path(WeightsPath(Capacity::kTiny)).parent_path().string();
  std::vector<std::string> argv = {BinaryPath("server/crepe-server"),
                                   "--listen",
                                   "127.0.0.1:0",
                                   "--port-file",
                                   port_file,
                                   "--models-dir",
                                   models_dir};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  server->child_ = ChildProcess::Start(argv, server->dir_ + "/server.log", error);
  if (!server->child_) return nullptr;
  auto fail = [&](const std::string& why) -> std::unique_ptr<ServerProcess> {
    if (error) *error = why + "\n--- server log ---\n" + server->child_->Log();
    return nullptr;
  };
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  std::string port_text;
  while (server->port_ == 0) {
    if (!server->child_->Running()) return fail("crepe-server exited before listening");
    if (Clock::now() > deadline) return fail("crepe-server wrote no port file in time");
    server->port_ = ReadPort(port_file, port_text);
    if (server->port_ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  server->address_ = "127.0.0.1:" + std::to_string(server->port_);
  // Listening comes first; SERVING once every model is loaded and warm.
  while (wait_for_serving && !HealthServing(server->address_, 1.0)) {
    if (!server->child_->Running()) return fail("crepe-server exited before SERVING");
    if (Clock::now() > deadline) return fail("crepe-server was not SERVING in time");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return server;
}

int64_t ServerProcess::ResidentBytes() const {
  std::ifstream status("/proc/" + std::to_string(child_->pid()) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // "VmRSS:  123456 kB"
  }
  return -1;
}

ServerProcess::~ServerProcess() {
  child_.reset();  // kills and reaps it first, so its files can go
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

}  // namespace crepe::test
