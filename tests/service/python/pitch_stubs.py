"""crepe.v1 Python stubs generated from proto/ at test time with grpc_tools.protoc (a client that is
not ours: nothing of the repository's generated code is used)."""

import os
import sys
import time

import grpc

from grpc_tools import protoc


def generate(proto_dir, out_dir):
    """Compiles crepe/v1/pitch.proto into out_dir; returns the (pitch_pb2, pitch_pb2_grpc) modules."""
    proto = os.path.join(proto_dir, "crepe", "v1", "pitch.proto")
    if not os.path.isfile(proto):
        raise AssertionError(f"no {proto}")
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")  # well-known types
    os.makedirs(out_dir, exist_ok=True)
    rc = protoc.main(["grpc_tools.protoc", f"-I{proto_dir}", f"-I{include}", f"--python_out={out_dir}",
                      f"--grpc_python_out={out_dir}", "crepe/v1/pitch.proto"])
    if rc != 0:
        raise AssertionError(f"grpc_tools.protoc failed on {proto} (exit {rc})")
    sys.path.insert(0, out_dir)
    from crepe.v1 import pitch_pb2, pitch_pb2_grpc  # noqa: E402 (generated just now)
    print(f"generated stubs from {proto} into {out_dir}", flush=True)
    return pitch_pb2, pitch_pb2_grpc


def wait_ready(server, channel, pb, pb_grpc, timeout_s=240):
    """Waits until every model of `server` (a server_process.Server) is READY; returns a stub."""
    deadline = time.monotonic() + timeout_s
    stub = pb_grpc.PitchServiceStub(channel)
    while True:
        if server.proc.poll() is not None:
            raise AssertionError(f"crepe-server exited with {server.proc.returncode}")
        try:
            if all(m.state == pb.ModelStatus.STATE_READY for m in stub.ListModels(pb.ListModelsRequest(), timeout=5).models):
                return stub
        except grpc.RpcError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"not ready after {timeout_s} s")
        time.sleep(0.1)
