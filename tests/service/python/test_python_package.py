#!/usr/bin/env python3
"""The Python client package (python/) as a user gets it, against a real crepe-server.

Outer part, run by .venv-grpc's Python (tools/test_venv.sh grpc):
  - builds an sdist and a wheel from a copy of python/ with `python -m build` (the sdist must carry
    the .proto, the wheel the generated stubs and py.typed), and installs python/ the way
    `pip install ./python` does (a PEP 517 build from the source folder, into a scratch target);
  - creates a fresh virtual environment and installs the wheel into it, its dependencies from
    .venv-grpc/wheelhouse (no network), then runs this file's inner part with that environment's
    Python, so only what the wheel declares is importable.
Inner part: starts crepe-server (tiny and small) and calls everything the package offers:
  - Client.predict equals crepe-predict's outputs on the same audio and options (the f0 CSV text,
    the periodicity, the activations and embeddings bit for bit), for two sets of options;
  - predict_file (encoded WAV) equals predict; stream (ragged chunks) equals predict, bit for bit;
  - AsyncClient: predict, stream from an async source, models, health, equal to the sync calls;
  - crepe_client.torchcrepe.predict (torchcrepe's argument names) equals the matching Client call;
  - errors: CrepeError with the gRPC code (NOT_FOUND, INVALID_ARGUMENT, RESOURCE_EXHAUSTED with
    reason RESPONSE_TOO_LARGE, UNAVAILABLE), ValueError for bad arguments and a bad stream chunk;
  - the server then stops cleanly on SIGTERM.
"""

import argparse
import asyncio
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import wave
import zipfile

from server_process import Server, check, log, running  # beside this file; standard library only

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
RPC_TIMEOUT_S = 180
MODELS = ["tiny", "small"]
MAX_MESSAGE_MB = 8  # test.wav's activations + embeddings fit (7 MB at 5 ms); four times its length does not


# ---- Outer part: build, install into a fresh environment ----------------------------------------

def run(argv, **kwargs):
    log("$ " + " ".join(argv))
    subprocess.run(argv, check=True, **kwargs)


def build_and_install(work):
    # A copy of python/ beside a copy of proto/, as in the repository, so the source tree stays clean.
    source = os.path.join(work, "checkout")
    shutil.copytree(os.path.join(REPO, "python"), os.path.join(source, "python"),
                    ignore=shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__"))
    shutil.copytree(os.path.join(REPO, "proto"), os.path.join(source, "proto"))
    dist = os.path.join(work, "dist")
    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, os.path.join(source, "python")])
    (sdist,) = glob.glob(os.path.join(dist, "*.tar.gz"))
    (wheel,) = glob.glob(os.path.join(dist, "*.whl"))
    import tarfile
    with tarfile.open(sdist) as t:
        names = t.getnames()
    check(any(n.endswith("/proto/crepe/v1/pitch.proto") for n in names), f"the sdist lacks the .proto: {names}")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
    for want in ("crepe_client/_pb/pitch_pb2.py", "crepe_client/_pb/pitch_pb2_grpc.py", "crepe_client/_pb/pitch_pb2.pyi",
                 "crepe_client/py.typed", "crepe_client/client.py", "crepe_client/aio.py"):
        check(want in names, f"the wheel lacks {want}: {names}")
    log(f"built {os.path.basename(sdist)} (from python/ then from the sdist) and {os.path.basename(wheel)}")

    # `pip install ./python` builds from the folder itself (here without isolation: no network).
    target = os.path.join(work, "pip-install-target")
    run([sys.executable, "-m", "pip", "install", "-q", "--no-build-isolation", "--no-deps", "--target", target,
         os.path.join(source, "python")])
    check(os.path.isfile(os.path.join(target, "crepe_client", "_pb", "pitch_pb2.py")),
          "pip install ./python did not generate the stubs")

    venv = os.path.join(work, "venv")
    run([sys.executable, "-m", "venv", venv])
    python = os.path.join(venv, "bin", "python")
    wheelhouse = os.path.join(os.path.dirname(os.path.dirname(sys.executable)), "wheelhouse")
    check(os.path.isdir(wheelhouse), f"no {wheelhouse}: run tools/test_venv.sh grpc")
    run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-index", "--find-links", wheelhouse,
         wheel])
    # The installed package type-checks as its users' code sees it (py.typed, the generated .pyi).
    run([sys.executable, "-m", "mypy", "--python-executable", python, "--ignore-missing-imports", "--no-incremental",
         "-p", "crepe_client"], cwd=work)
    return python


# ---- Inner part: every call against a real server -----------------------------------------------

def read_wav(path):
    import numpy as np
    with wave.open(path, "rb") as w:
        check(w.getsampwidth() == 2, f"{path}: expected 16-bit PCM")
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, w.getnchannels())
        return data[:, 0] if data.shape[1] == 1 else data, w.getframerate()


def same(a, b):
    import numpy as np
    return a is not None and b is not None and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def assert_same_prediction(a, b, what):
    for name in ("time", "frequency", "confidence", "periodicity", "activations", "embeddings"):
        x, y = getattr(a, name), getattr(b, name)
        check((x is None) == (y is None), f"{what}: {name} present in only one")
        check(x is None or same(x, y), f"{what}: {name} differs")


def f0_csv(p):
    import numpy as np
    rows = ["time,frequency,confidence"]
    for t, f, c in zip(p.time, p.frequency, p.confidence):
        rows.append(f"{float(t):.3f},{0.0 if np.isnan(f) else float(f):.3f},{float(c):.6f}")
    return "\n".join(rows) + "\n"


def compare_with_crepe_predict(client, crepe_predict, models_dir, wav, work, label, cli_args, **options):
    import numpy as np
    out = os.path.join(work, label)
    run([crepe_predict, "-q", "--models-dir", models_dir, "--activations", "--embeddings", "--periodicity",
         "-o", out, wav] + cli_args)
    samples, rate = read_wav(wav)
    p = client.predict(samples, rate, activations=True, embeddings=True, request_id=f"py-{label}", **options)
    stem = os.path.join(out, os.path.splitext(os.path.basename(wav))[0])
    with open(stem + ".f0.csv") as f:
        check(f0_csv(p) == f.read(), f"{label}: the f0 CSV differs from crepe-predict's")
    periodicity = np.loadtxt(stem + ".periodicity.csv", delimiter=",", skiprows=1)[:, 1]
    check(np.allclose(p.periodicity, periodicity, atol=5e-7, rtol=0), f"{label}: periodicity differs")
    check(same(p.activations, np.load(stem + ".activation.npy")), f"{label}: activations differ from crepe-predict's")
    check(same(p.embeddings, np.load(stem + ".embedding.npy")), f"{label}: embeddings differ from crepe-predict's")
    check(p.request_id == f"py-{label}" and p.model.name == options["model"], f"{label}: {p.request_id} {p.model}")
    log(f"{label}: Client.predict == crepe-predict {' '.join(cli_args)} ({len(p)} frames, f0 CSV, periodicity, "
        f"activations {p.activations.shape}, embeddings {p.embeddings.shape})")
    return p


def expect(fn, error_type, what, code=None, reason=None):
    import crepe_client
    try:
        fn()
    except error_type as e:
        if isinstance(e, crepe_client.CrepeError):
            check(code is None or e.code == code, f"{what}: code {e.code}, expected {code}")
            check(reason is None or e.reason == reason, f"{what}: reason {e.reason}, expected {reason}")
            check(e.code.name in str(e), f"{what}: the message does not name the code: {e}")
        log(f"  {what}: {type(e).__name__}: {e}")
        return e
    raise AssertionError(f"{what}: no {error_type.__name__} raised")


def inner(args):
    import grpc
    import numpy as np

    import crepe_client
    from crepe_client import AsyncClient, Client, CrepeError, PostProcessing, Prediction, RAW
    from crepe_client import torchcrepe as tc

    installed = os.path.dirname(crepe_client.__file__)
    check(not installed.startswith(REPO), f"crepe_client imported from the source tree ({installed}), not the wheel")
    log(f"crepe_client {crepe_client.__version__} from {installed}")
    work = tempfile.mkdtemp(prefix="python-package-inner-")
    server = Server(args.server_bin, args.models_dir, work, MODELS, ["--max-message-mb", str(MAX_MESSAGE_MB)])
    try:
        server.start()
        client = Client(server.address, timeout=RPC_TIMEOUT_S)
        for _ in range(2400):
            check(server.proc.poll() is None, f"crepe-server exited with {server.proc.returncode}")
            try:
                if client.health() == "SERVING":
                    break
            except CrepeError:
                pass
            import time
            time.sleep(0.1)
        check(client.health() == "SERVING", "the server never became SERVING")
        models = client.models()
        check([m.model.name for m in models] == MODELS and all(m.state == "READY" for m in models),
              f"models(): {models}")
        log(f"health SERVING; models {[(m.model.name, m.state, m.embedding_width) for m in models]}")

        # Results equal crepe-predict's ------------------------------------------------------
        tiny = compare_with_crepe_predict(client, args.crepe_predict, args.models_dir, args.wav, work, "tiny-viterbi",
                                          ["-m", "tiny", "--decoder", "viterbi"], model="tiny", decoder="viterbi",
                                          post=RAW)
        compare_with_crepe_predict(client, args.crepe_predict, args.models_dir, args.wav, work, "small-post",
                                   ["-m", "small", "--decoder", "weighted_argmax", "--step-ms", "5", "--fmin", "60",
                                    "--fmax", "1000", "--median-filter", "3", "--threshold", "0.5"],
                                   model="small", decoder="weighted_argmax", hop_ms=5, fmin=60, fmax=1000,
                                   post=PostProcessing(periodicity_median_window=3, voicing_threshold=0.5))

        samples, rate = read_wav(args.wav)
        opts = dict(model="tiny", decoder="viterbi", post=RAW, activations=True, embeddings=True)
        unary = client.predict(samples, rate, **opts)
        assert_same_prediction(unary, tiny, "predict again")
        assert_same_prediction(client.predict_file(args.wav, **opts), unary, "predict_file vs predict")
        as_float = client.predict(samples.astype(np.float32) / 32768, rate, **opts)
        assert_same_prediction(as_float, unary, "float32 samples vs int16")
        log("predict_file == predict; float32 samples == int16 samples")

        # Streams equal unary ----------------------------------------------------------------
        sizes = [1, 4410, 0, 333, 20000, 7]
        chunks, at = [], 0
        while at < len(samples):
            size = sizes[len(chunks) % len(sizes)]
            chunks.append(samples[at:at + size])
            at += size
        stream = client.stream(iter(chunks), rate, **opts)
        parts = list(stream)
        assert_same_prediction(Prediction.concatenate(parts), unary, "stream vs predict")
        check(stream.frames == len(unary) and stream.model.name == "tiny" and abs(stream.audio_seconds - unary.audio_seconds) < 1e-9,
              f"stream summary: {stream.frames} frames, {stream.audio_seconds} s, {stream.model}")
        log(f"stream of {len(chunks)} ragged chunks == predict ({len(parts)} messages)")
        streamed_f16 = Prediction.concatenate(client.stream(chunks, rate, model="tiny", decoder="viterbi", post=RAW,
                                                            activations=True, float16=True))
        check(np.allclose(streamed_f16.activations, unary.activations, atol=1e-3, rtol=1e-3), "float16 activations")
        expect(lambda: list(client.stream([samples[:1000], np.zeros((100, 2), np.int16)], rate, model="tiny")),
               ValueError, "a stream chunk with another channel count")

        # asyncio ----------------------------------------------------------------------------
        async def use_async():
            async with AsyncClient(server.address, timeout=RPC_TIMEOUT_S) as a:
                check(await a.health() == "SERVING", "async health")
                check([m.model.name for m in await a.models()] == MODELS, "async models")
                p1, p2 = await asyncio.gather(a.predict(samples, rate, **opts), a.predict_file(args.wav, **opts))
                assert_same_prediction(p1, unary, "AsyncClient.predict")
                assert_same_prediction(p2, unary, "AsyncClient.predict_file")

                async def source():
                    for c in chunks:
                        await asyncio.sleep(0)
                        yield c
                parts = [p async for p in a.stream(source(), rate, **opts)]
                assert_same_prediction(Prediction.concatenate(parts), unary, "AsyncClient.stream")
                try:
                    await a.predict(samples, rate, model="large")
                except CrepeError as e:
                    check(e.code == grpc.StatusCode.NOT_FOUND, f"async error code {e.code}")
                else:
                    raise AssertionError("AsyncClient: no CrepeError for a model the server lacks")
        asyncio.run(use_async())
        log("AsyncClient: predict, predict_file, stream (async source), models, health, errors == the sync calls")

        # torchcrepe's argument names ----------------------------------------------------------
        audio = (samples.astype(np.float32) / 32768)[None, :]
        pitch, periodicity = tc.predict(audio, rate, rate // 100, 50.0, tc.MAX_FMAX, "tiny",
                                        decoder=tc.decode.weighted_argmax, return_periodicity=True,
                                        server=server.address)
        want = client.predict(samples, rate, model="tiny", decoder="weighted_argmax", hop_samples=rate // 100,
                              fmin=50, fmax=tc.MAX_FMAX, post=RAW)
        check(pitch.shape == (1, len(want)) and periodicity.shape == (1, len(want)), f"shapes {pitch.shape}")
        check(same(pitch[0], want.frequency) and same(periodicity[0], want.periodicity), "torchcrepe-style results")
        only_pitch = tc.predict(audio, rate, model="tiny", decoder="viterbi", client=client)
        check(only_pitch.shape == (1, len(want)) and not np.isnan(only_pitch).any(), "torchcrepe-style viterbi")
        log(f"crepe_client.torchcrepe.predict == Client.predict with the same settings ({pitch.shape})")

        # The example script ------------------------------------------------------------------
        example = os.path.join(REPO, "python", "examples", "predict_files.py")
        sung = os.path.join(REPO, "assets", "examples", "sung-vowel.wav")
        out = os.path.join(work, "example-out")
        done = subprocess.run([sys.executable, example, "--server", server.address, "-m", "tiny", "--out", out, sung,
                               os.path.join(work, "missing.wav")], capture_output=True, text=True, timeout=300)
        log(done.stdout + done.stderr)
        check(done.returncode == 1 and "sung-vowel.wav: " in done.stdout and "missing.wav: FAILED" in done.stderr,
              f"the example: exit {done.returncode}")
        check(os.path.isfile(os.path.join(out, "sung-vowel.f0.csv")), "the example wrote no CSV")

        # Errors -----------------------------------------------------------------------------
        log("errors:")
        expect(lambda: client.predict(samples, rate, model="medium"), CrepeError, "a model the server lacks",
               grpc.StatusCode.NOT_FOUND)
        expect(lambda: client.predict(samples, 0, model="tiny"), CrepeError, "sample rate 0",
               grpc.StatusCode.INVALID_ARGUMENT)
        expect(lambda: client.predict(samples, rate, model="tiny", hop_ms=-1), CrepeError, "a negative hop",
               grpc.StatusCode.INVALID_ARGUMENT)
        too_large = expect(lambda: client.predict(np.tile(samples, 4), rate, model="tiny", hop_ms=5,
                                                  activations=True, embeddings=True),
                           CrepeError, "a response over the message limit", grpc.StatusCode.RESOURCE_EXHAUSTED,
                           "RESPONSE_TOO_LARGE")
        check(not too_large.retryable, "RESPONSE_TOO_LARGE must not be retryable")
        expect(lambda: client.predict(samples, rate, model="huge"), ValueError, "an unknown model name")
        expect(lambda: client.predict(samples, rate, model="tiny", decoder="best"), ValueError, "an unknown decoder")
        expect(lambda: client.predict(np.zeros((2, 2, 2)), rate, model="tiny"), ValueError, "3-D audio")
        expect(lambda: client.predict_file(os.path.join(work, "missing.wav"), model="tiny"), FileNotFoundError,
               "a missing file")
        expect(lambda: Client(server.address, ca=os.path.join(work, "missing.pem")), FileNotFoundError, "a missing CA file")
        expect(lambda: Client(server.address, cert=args.wav), ValueError, "a certificate without its key")
        with open(os.path.join(work, "junk.wav"), "wb") as f:
            f.write(b"RIFF not really a wave file")
        expect(lambda: client.predict_file(os.path.join(work, "junk.wav"), model="tiny"), CrepeError, "a corrupt file",
               grpc.StatusCode.INVALID_ARGUMENT)
        with Client(server.address, tls=True, timeout=10) as tls_client:
            expect(tls_client.models, CrepeError, "TLS to a plain-text server", grpc.StatusCode.UNAVAILABLE)
        with Client("127.0.0.1:1", timeout=10) as nowhere:
            gone = expect(nowhere.health, CrepeError, "no server", grpc.StatusCode.UNAVAILABLE)
            check(gone.retryable, "UNAVAILABLE must be retryable")
        client.close()
        secure_server(args, work, samples, rate, unary)

        server.proc.send_signal(signal.SIGTERM)
        code = server.proc.wait(timeout=60)
        check(code == 0, f"crepe-server exited with {code} after SIGTERM")
    except BaseException:
        print(f"\n---- crepe-server log ----\n{server.log_text()[-20000:]}", file=sys.stderr)
        raise
    finally:
        server.kill()
        server.close_log()
        shutil.rmtree(work, ignore_errors=True)


def secure_server(args, work, samples, rate, want):
    """TLS and a bearer token: Client and AsyncClient with ca= and token_file= get what the plain
    server gave; without the token UNAUTHENTICATED; health needs none."""
    import grpc

    import tls_material
    from crepe_client import AsyncClient, Client, CrepeError, RAW

    pki = tls_material.make(os.path.join(work, "pki"))
    token_file = os.path.join(work, "token.txt")
    with open(token_file, "w") as f:
        f.write("# the test's caller\npackage-test-token\n")
    os.makedirs(os.path.join(work, "tls"))
    server = Server(args.server_bin, args.models_dir, os.path.join(work, "tls"), ["tiny"],
                    ["--tls-cert", pki["server"], "--tls-key", pki["server_key"], "--token-file", token_file])
    with running(server):
        with Client(server.address, ca=pki["ca"], timeout=RPC_TIMEOUT_S) as anonymous:
            for _ in range(2400):
                try:
                    if anonymous.health() == "SERVING":
                        break
                except CrepeError:
                    pass
                check(server.proc.poll() is None, "the TLS server exited")
                import time
                time.sleep(0.1)
            expect(anonymous.models, CrepeError, "TLS without the token", grpc.StatusCode.UNAUTHENTICATED)
        opts = dict(model="tiny", decoder="viterbi", post=RAW, activations=True, embeddings=True)
        with Client(server.address, ca=pki["ca"], token_file=token_file, timeout=RPC_TIMEOUT_S) as c:
            assert_same_prediction(c.predict(samples, rate, **opts), want, "TLS + token predict")

        async def use_async():
            async with AsyncClient(server.address, ca=pki["ca"], token_file=token_file) as a:
                assert_same_prediction(await a.predict(samples, rate, **opts), want, "TLS + token AsyncClient")
        asyncio.run(use_async())
        expect(lambda: Client(server.address, token="x"), ValueError, "a token without TLS")
        log("TLS + bearer token: Client and AsyncClient (ca=, token_file=) == the plain server; no token refused")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server-bin", required=True)
    parser.add_argument("--crepe-predict", required=True)
    parser.add_argument("--models-dir", required=True)
    parser.add_argument("--wav", required=True)
    parser.add_argument("--inner", action="store_true", help="(internal) run the calls, in the fresh environment")
    args = parser.parse_args()
    if args.inner:
        inner(args)
        log("PASS: the installed crepe_client package called a real crepe-server")
        return
    with tempfile.TemporaryDirectory(prefix="python-package-") as work:
        python = build_and_install(work)
        # -I: isolated mode, so neither the source tree nor user site-packages leak in; the helper
        # module beside this file is passed by path.
        env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.abspath(__file__)))
        run([python, os.path.abspath(__file__), "--inner", "--server-bin", args.server_bin, "--crepe-predict",
             args.crepe_predict, "--models-dir", args.models_dir, "--wav", args.wav], env=env)
    log("PASS: python/ builds as an sdist and a wheel, installs into a fresh environment, and works")


if __name__ == "__main__":
    main()
