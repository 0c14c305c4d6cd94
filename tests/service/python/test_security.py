#!/usr/bin/env python3
"""crepe-server's transport security with real certificates made at test time (tls_material.py):

1. TLS + bearer tokens: calls with either token work (grpcio and crepe-client); a missing or wrong
   token is UNAUTHENTICATED; health answers without a token (probes); reflection needs one; a
   plain-text client is refused.
2. Mutual TLS: a client certificate from the trusted CA works; one from another CA, or none, is refused.
3. Refused set-ups exit 2 at once with a message saying what to do: a non-loopback --listen without
   TLS, tokens without TLS. With --allow-insecure the server starts and warns in its log.

Run with .venv-grpc's Python (tools/test_venv.sh grpc); needs the openssl command.
"""

import argparse
import os
import shutil
import subprocess
import tempfile
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

import tls_material
from server_process import Server, check, log, running

METHOD = "/crepe.v1.PitchService/ListModels"
TOKENS = ["first-token-0123456789abcdef", "second.token_ABCDEF~+/="]


def list_models(channel, token=None):
    """ListModels with raw bytes (an empty request; the reply is only checked for success)."""
    call = channel.unary_unary(METHOD, request_serializer=lambda _: b"", response_deserializer=lambda b: b)
    metadata = [("authorization", f"Bearer {token}")] if token else None
    return call(None, timeout=30, metadata=metadata)


def expect_code(fn, code, what):
    try:
        fn()
    except grpc.RpcError as e:
        check(e.code() == code, f"{what}: {e.code()} ({e.details()}), expected {code}")
        log(f"  {what}: {e.code().name}: {e.details()}")
        return
    raise AssertionError(f"{what}: the call succeeded; expected {code}")


def health(channel, metadata=None):
    stub = health_pb2_grpc.HealthStub(channel)
    return stub.Check(health_pb2.HealthCheckRequest(), timeout=30, metadata=metadata).status


def wait_serving(server, channel):
    deadline = time.monotonic() + 240
    while True:
        check(server.proc.poll() is None, f"crepe-server exited with {server.proc.returncode}")
        try:
            if health(channel) == health_pb2.HealthCheckResponse.SERVING:
                return
        except grpc.RpcError:
            pass
        check(time.monotonic() < deadline, "not SERVING after 240 s")
        time.sleep(0.1)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def tls_channel(address, pki, cert=None):
    creds = grpc.ssl_channel_credentials(root_certificates=read(pki["ca"]),
                                         private_key=read(pki[f"{cert}_key"]) if cert else None,
                                         certificate_chain=read(pki[cert]) if cert else None)
    return grpc.secure_channel(address, creds)


def client_cli(args, client_bin, *extra):
    argv = [client_bin] + list(extra)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    log(f"  $ {' '.join(argv[:2])} ...: exit {done.returncode} {(done.stdout + done.stderr).strip()[-300:]}")
    return done


def tokens_and_tls(args, pki, work):
    tokens = os.path.join(work, "tokens.txt")
    with open(tokens, "w") as f:
        f.write("# two callers\n" + "\n".join(TOKENS) + "\n\n")
    server = Server(args.server_bin, args.models_dir, os.path.join(work, "s1"), ["tiny"],
                    ["--tls-cert", pki["server"], "--tls-key", pki["server_key"], "--token-file", tokens])
    os.makedirs(os.path.join(work, "s1"))
    with running(server):
        channel = tls_channel(server.address, pki)
        wait_serving(server, channel)
        log("TLS + tokens:")
        check(health(channel) == health_pb2.HealthCheckResponse.SERVING, "health without a token")
        log("  health without a token: SERVING")
        for token in TOKENS:
            list_models(channel, token)
        log("  ListModels with either token: OK")
        expect_code(lambda: list_models(channel), grpc.StatusCode.UNAUTHENTICATED, "no token")
        expect_code(lambda: list_models(channel, "not-a-token"), grpc.StatusCode.UNAUTHENTICATED, "a wrong token")
        expect_code(lambda: list_models(channel, TOKENS[0][:-1]), grpc.StatusCode.UNAUTHENTICATED, "a token's prefix")
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        expect_code(lambda: list(reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(
            list_services="")]), timeout=30)), grpc.StatusCode.UNAUTHENTICATED, "reflection without a token")
        plain = grpc.insecure_channel(server.address)
        expect_code(lambda: list_models(plain, TOKENS[0]), grpc.StatusCode.UNAVAILABLE, "a plain-text client")
        expect_code(lambda: health(plain), grpc.StatusCode.UNAVAILABLE, "plain-text health")

        # crepe-client with the matching options
        token_file = os.path.join(work, "client-token.txt")
        with open(token_file, "w") as f:
            f.write(TOKENS[1] + "\n")
        done = client_cli(args, args.client_bin, "health", "--server", server.address, "--ca", pki["ca"])
        check(done.returncode == 0 and "SERVING" in done.stdout, "crepe-client health over TLS")
        done = client_cli(args, args.client_bin, "models", "--server", server.address, "--ca", pki["ca"])
        check(done.returncode == 1 and "UNAUTHENTICATED" in done.stderr, "crepe-client models without a token")
        done = client_cli(args, args.client_bin, "models", "--server", server.address, "--ca", pki["ca"],
                          "--token-file", token_file)
        check(done.returncode == 0 and "tiny" in done.stdout, "crepe-client models with a token")
        out = os.path.join(work, "out")
        done = client_cli(args, args.client_bin, "predict", "-q", "--server", server.address, "--ca", pki["ca"],
                          "--token-file", token_file, "-m", "tiny", "-o", out, args.wav)
        check(done.returncode == 0 and os.path.isfile(os.path.join(out, "test.f0.csv")), "crepe-client predict")
        # Many inputs, no token: the run stops at the first refusal instead of failing every input in turn.
        many = os.path.join(work, "many")
        os.makedirs(many)
        for i in range(40):
            os.symlink(args.wav, os.path.join(many, f"clip{i:02d}.wav"))
        refused_out = os.path.join(work, "out-refused")
        done = client_cli(args, args.client_bin, "predict", "-q", "--server", server.address, "--ca", pki["ca"],
                          "--max-in-flight", "2", "-m", "tiny", "-o", refused_out, many)
        errors = [line for line in done.stderr.splitlines() if "UNAUTHENTICATED:" in line]
        check(done.returncode == 1 and "refused our credentials" in done.stderr and 1 <= len(errors) <= 2,
              f"crepe-client predict without a token: exit {done.returncode}, {len(errors)} refused calls")
        with open(os.path.join(refused_out, "failed.txt")) as f:
            check(len(f.read().split()) == 40, "every input listed in failed.txt")
        log("  crepe-client predict without a token: stops after the first refusal, all 40 inputs in failed.txt")
        done = client_cli(args, args.client_bin, "health", "--server", server.address, "--token-file", token_file)
        check(done.returncode == 2 and "needs TLS" in done.stderr, "crepe-client: a token without TLS")
        log("  crepe-client --ca/--token-file: health, models and predict work; without the token refused")
        channel.close()
        plain.close()


def mutual_tls(args, pki, work):
    os.makedirs(os.path.join(work, "s2"))
    server = Server(args.server_bin, args.models_dir, os.path.join(work, "s2"), ["tiny"],
                    ["--tls-cert", pki["server"], "--tls-key", pki["server_key"], "--tls-client-ca", pki["ca"]])
    with running(server):
        good = tls_channel(server.address, pki, cert="client")
        wait_serving(server, good)
        log("mutual TLS:")
        list_models(good)
        log("  a client certificate from the trusted CA: OK")
        expect_code(lambda: list_models(tls_channel(server.address, pki, cert="other_client")),
                    grpc.StatusCode.UNAVAILABLE, "a client certificate from another CA")
        expect_code(lambda: list_models(tls_channel(server.address, pki)), grpc.StatusCode.UNAVAILABLE,
                    "no client certificate")
        done = client_cli(args, args.client_bin, "models", "--server", server.address, "--ca", pki["ca"], "--cert",
                          pki["client"], "--key", pki["client_key"])
        check(done.returncode == 0 and "tiny" in done.stdout, "crepe-client --cert/--key")


def refused_setups(args, pki, work):
    log("refused set-ups:")
    tokens = os.path.join(work, "tokens.txt")
    cases = [
        (["--listen", "0.0.0.0:0"], "--allow-insecure", "a non-loopback address in plain text"),
        (["--token-file", tokens], "need TLS", "tokens without TLS"),
        (["--tls-cert", pki["server"]], "go together", "a certificate without its key"),
        (["--tls-cert", pki["server"], "--tls-key", os.path.join(work, "missing.key")], "missing.key",
         "a missing key file"),
        (["--tls-cert", tokens, "--tls-key", pki["server_key"]], "not a PEM file", "a certificate that is no PEM"),
    ]
    for extra, says, what in cases:
        argv = [args.server_bin, "--models-dir", args.models_dir, "--models", "tiny"] + extra
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        check(done.returncode == 2 and says in done.stdout + done.stderr,
              f"{what}: exit {done.returncode}, output:\n{done.stdout}{done.stderr}")
        log(f"  {what}: exit 2, says '{says}'")
    os.makedirs(os.path.join(work, "s3"))
    server = Server(args.server_bin, args.models_dir, os.path.join(work, "s3"), ["tiny"], ["--allow-insecure"])
    server.argv[server.argv.index("127.0.0.1:0")] = "0.0.0.0:0"
    with running(server):
        deadline = time.monotonic() + 60
        while "in plain text without authentication (--allow-insecure)" not in server.log_text():
            check(time.monotonic() < deadline and server.proc.poll() is None, "no warning with --allow-insecure")
            time.sleep(0.1)
        log("  --allow-insecure on 0.0.0.0: starts, and warns in the log")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server-bin", required=True)
    parser.add_argument("--client-bin", required=True)
    parser.add_argument("--models-dir", required=True)
    parser.add_argument("--wav", required=True)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="crepe-security-")
    try:
        pki = tls_material.make(os.path.join(work, "pki"))
        tokens_and_tls(args, pki, work)
        mutual_tls(args, pki, work)
        refused_setups(args, pki, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log("PASS: TLS, mutual TLS and bearer tokens work, and unsafe set-ups are refused")


if __name__ == "__main__":
    main()
