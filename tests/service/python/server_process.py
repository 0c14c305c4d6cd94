"""crepe-server as a child process of a Python test: started on a free loopback port (read from
--port-file), its output in a log file, killed with the test. Standard library only, so that it
runs in any environment (the test gRPC venv, or a fresh one holding only the client package)."""

import contextlib
import os
import signal
import subprocess
import time

STARTUP_TIMEOUT_S = 240


def log(msg):
    print(msg, flush=True)


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def _die_with_parent():
    """In the child before exec: SIGKILL it if this script dies (e.g. killed by a ctest timeout)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux)
    except Exception:  # noqa: BLE001 (best effort)
        pass


class Server:
    """crepe-server as a child process, its output in a log file."""

    def __init__(self, server_bin, models_dir, work_dir, models, extra_args=()):
        self.port_file = os.path.join(work_dir, "port")
        self.log_path = os.path.join(work_dir, "server.log")
        self.argv = [server_bin, "--listen", "127.0.0.1:0", "--port-file", self.port_file, "--models-dir", models_dir,
                     "--models", ",".join(models)] + list(extra_args)
        self.proc = None
        self.address = None
        self._log = None

    def start(self):
        log("starting: " + " ".join(self.argv))
        self._log = open(self.log_path, "wb")
        # close_fds=False: with a preexec_fn the child is a real fork of this process, in which grpcio
        # (when the test has imported it) restarts its poller thread; closing every descriptor
        # before exec would close that poller's epoll descriptor under it, and the child aborts
        # ("epoll_wait error: Bad file descriptor", grpc/grpc issue 43055) before crepe-server runs.
        # Python's own descriptors are not inheritable anyway, and gRPC's are close-on-exec.
        self.proc = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     preexec_fn=_die_with_parent, close_fds=False)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            check(self.proc.poll() is None, f"crepe-server exited with {self.proc.returncode} before listening")
            try:
                with open(self.port_file) as f:
                    text = f.read().strip()
                if text:
                    port = int(text)
                    break
            except (FileNotFoundError, ValueError):
                pass
            check(time.monotonic() < deadline, f"no port file {self.port_file} after {STARTUP_TIMEOUT_S} s")
            time.sleep(0.05)
        check(0 < port < 65536, f"bad port {port} in the port file")
        self.address = f"127.0.0.1:{port}"
        log(f"listening on {self.address}")

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close_log(self):
        if self._log is not None:
            self._log.close()
            self._log = None


@contextlib.contextmanager
def running(server):
    """Starts `server`; on the way out kills it, closing its log, and on a failure prints the log's end."""
    try:
        server.start()
        yield server
    except BaseException:
        print(f"\n---- crepe-server log ({server.log_path}) ----\n{server.log_text()[-10000:]}", flush=True)
        raise
    finally:
        server.kill()
        server.close_log()
