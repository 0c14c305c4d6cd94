#!/usr/bin/env python3
"""crepe-server called by a gRPC client that is not ours: Python grpcio, with stubs generated
from proto/crepe/v1/pitch.proto by grpc_tools.protoc at test time.

Starts crepe-server (--models tiny,full) on a free port, waits for grpc.health.v1 SERVING, then
calls every RPC of crepe.v1.PitchService (ListModels, Predict with float32 / int16 PCM and an
encoded WAV, StreamPredict with ragged chunks), checks bad requests, health and reflection, and
finally stops the server with SIGTERM, which must exit 0.

Standalone (no pytest): plain asserts, exit status non-zero on failure. Run it in the
environment that tools/grpc_py/setup_env.sh creates (.venv-grpc):

  .venv-grpc/bin/python tests/service/python/test_grpc_python_client.py \
      --server-bin build/server/crepe-server --models-dir models --proto-dir proto
"""

import argparse
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import wave

SETUP_HINT = "run tools/grpc_py/setup_env.sh (it creates .venv-grpc) and use .venv-grpc/bin/python"

try:
    import grpc
    import numpy as np
    from google.rpc import error_details_pb2
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_status import rpc_status
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
    from google.protobuf import descriptor_pool
except ImportError as e:  # not the test environment
    print(f"FAIL: cannot import the Python gRPC packages ({e}): {SETUP_HINT}", file=sys.stderr)
    sys.exit(2)

MODELS = ["tiny", "full"]  # loaded by the server under test; ListModels must list exactly these
HOP_S = 0.01
RPC_TIMEOUT_S = 180
SERVICE = "crepe.v1.PitchService"
# Chunk sizes in samples, cycled, for StreamPredict: ragged, and an empty chunk (allowed).
CHUNK_SAMPLES = [1, 4410, 7, 333, 0, 20000]
REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
E2E_DIR = os.path.join(REPO, "tests", "fixtures", "e2e")
# The shared reference data, read in place (CMake's CREPE_SHARED_DIR defaults to the same folder).
DEFAULT_WAV = os.path.normpath(os.path.join(REPO, "..", "shared", "testdata", "crepe-reference", "test.wav"))

import pitch_stubs  # noqa: E402 (beside this file)
from server_process import STARTUP_TIMEOUT_S, Server, check, log  # noqa: E402

pb = None  # crepe.v1.pitch_pb2, generated at start-up
pb_grpc = None


# --------------------------------------------------------------------------------------------
# Set-up


def generate_stubs(proto_dir, out_dir):
    global pb, pb_grpc
    pb, pb_grpc = pitch_stubs.generate(proto_dir, out_dir)


def wait_serving(channel, server):
    """Polls grpc.health.v1 Check until both "" and the service say SERVING."""
    stub = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    start = time.monotonic()
    last = None
    while True:
        check(server.proc.poll() is None, f"crepe-server exited with {server.proc.returncode} while starting")
        try:
            statuses = [stub.Check(health_pb2.HealthCheckRequest(service=s), timeout=2).status for s in ("", SERVICE)]
            last = statuses
            if all(s == health_pb2.HealthCheckResponse.SERVING for s in statuses):
                break
        except grpc.RpcError as e:
            last = f"{e.code().name}: {e.details()}"
        check(time.monotonic() < deadline, f"not SERVING after {STARTUP_TIMEOUT_S} s (last answer: {last})")
        time.sleep(0.1)
    log(f"health: SERVING after {time.monotonic() - start:.1f} s")


# --------------------------------------------------------------------------------------------
# Helpers


def read_wav_int16(path):
    with wave.open(path, "rb") as w:
        check(w.getsampwidth() == 2 and w.getnchannels() == 1, f"{path}: expected 16-bit mono")
        rate = w.getframerate()
        data = w.readframes(w.getnframes())
    return np.frombuffer(data, dtype="<i2").copy(), rate


def expected_frames(n, rate):
    n16k = n * 16000 // rate  # floor(n * 16000 / rate), as resampy sizes its output
    return 1 + n16k // 160  # centre padding: a frame every 160 samples from 0 to n16k


def pcm_audio(samples, rate, fmt):
    if fmt == "float32":
        data = samples.astype("<f4").tobytes()
        f = pb.SAMPLE_FORMAT_FLOAT32
    else:
        data = samples.astype("<i2").tobytes()
        f = pb.SAMPLE_FORMAT_INT16
    return pb.Audio(pcm=pb.PcmAudio(sample_rate_hz=rate, channels=1, format=f, data=data))


class Frames:
    """PitchFrames messages concatenated, as numpy arrays."""

    def __init__(self):
        self.time = []
        self.frequency = []
        self.periodicity = []
        self.confidence = []
        self.activations = []
        self.first_frames = []
        self.activation_encoding = None

    def add(self, m):
        n = len(m.time_s)
        self.first_frames.append((m.first_frame, n))
        self.time.extend(m.time_s)
        for name in ("frequency_hz", "periodicity", "confidence"):
            values = getattr(m, name)
            check(len(values) == n, f"{name} has {len(values)} values for {n} frames")
        self.frequency.extend(m.frequency_hz)
        self.periodicity.extend(m.periodicity)
        self.confidence.extend(m.confidence)
        if m.HasField("activations"):
            t = m.activations
            check(list(t.shape) == [n, 360], f"activations shape {list(t.shape)}, expected [{n}, 360]")
            dtype = "<f2" if t.encoding == pb.TENSOR_ENCODING_FLOAT16 else "<f4"
            check(len(t.data) == n * 360 * np.dtype(dtype).itemsize, f"activations hold {len(t.data)} bytes")
            self.activation_encoding = t.encoding
            self.activations.append(np.frombuffer(t.data, dtype=dtype).reshape(n, 360))

    def arrays(self):
        a = {
            "time": np.array(self.time, dtype=np.float64),
            "frequency": np.array(self.frequency, dtype=np.float32),
            "periodicity": np.array(self.periodicity, dtype=np.float32),
            "confidence": np.array(self.confidence, dtype=np.float32),
        }
        if self.activations:
            a["activations"] = np.concatenate(self.activations)
        return a


def bitwise_equal(x, y):
    """Same shape and the same bits (so NaN equals NaN, and -0 differs from +0)."""
    if x.shape != y.shape or x.dtype != y.dtype:
        return False
    return x.tobytes() == y.tobytes()


def assert_same_frames(a, b, what):
    check(set(a) == set(b), f"{what}: different outputs {sorted(a)} vs {sorted(b)}")
    for key in a:
        x, y = a[key], b[key]
        if bitwise_equal(x, y):
            continue
        detail = f"shapes {x.shape} vs {y.shape}"
        if x.shape == y.shape and x.dtype == y.dtype:
            rows_x = x.reshape(len(x), -1).view(np.uint8)
            rows_y = y.reshape(len(y), -1).view(np.uint8)
            bad = np.flatnonzero(np.any(rows_x != rows_y, axis=1))
            i = int(bad[0])
            detail = f"{len(bad)} frames differ, the first is frame {i}: {x[i]} vs {y[i]}"
        raise AssertionError(f"{what}: {key} differs ({detail})")


def assert_plausible(a, n_frames, what):
    t, f, c, p = a["time"], a["frequency"], a["confidence"], a["periodicity"]
    for key in ("time", "frequency", "confidence", "periodicity"):
        check(len(a[key]) == n_frames, f"{what}: {len(a[key])} {key} values, expected {n_frames} frames")
    expect_t = np.arange(n_frames) * HOP_S
    worst = float(np.max(np.abs(t - expect_t)))
    check(worst < 1e-9, f"{what}: frame times are not 0.00, 0.01, ... (off by up to {worst})")
    check(np.all(np.diff(t) > 0), f"{what}: frame times do not increase")
    check(not np.any(np.isnan(c)), f"{what}: NaN confidence")
    check(np.all((c >= 0) & (c <= 1)), f"{what}: confidence outside [0, 1]: {c.min()} .. {c.max()}")
    check(not np.any(np.isnan(p)), f"{what}: NaN periodicity")
    check(np.all((p >= 0) & (p <= 1)), f"{what}: periodicity outside [0, 1]")
    voiced = f[~np.isnan(f)]
    check(len(voiced) > 0, f"{what}: every frame's pitch is NaN")
    check(np.all((voiced > 30) & (voiced < 2100)), f"{what}: pitch outside CREPE's range: {voiced.min()} .. {voiced.max()} Hz")
    confident = f[(c > 0.5) & ~np.isnan(f)]
    check(len(confident) > n_frames // 10, f"{what}: only {len(confident)} of {n_frames} frames have confidence > 0.5")
    median = float(np.median(confident))
    check(60 < median < 1500, f"{what}: median confident pitch {median:.1f} Hz is implausible")
    return median



def compare_with_original(a, fixture, what, wav):
    """Against marl/crepe 0.0.16's own pipeline on test.wav (tests/fixtures/e2e, see its README):
    the confidence, and the pitch of confident frames, as the project's end-to-end tests do."""
    if os.path.basename(wav) != "test.wav":
        log(f"  (no comparison with the original CREPE: its references are for test.wav, not {wav})")
        return
    path = os.path.join(E2E_DIR, fixture + ".f0.csv")
    check(os.path.isfile(path), f"no reference {path}")
    ref = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    check(ref.shape[0] == len(a["time"]), f"{what}: {len(a['time'])} frames, the original gives {ref.shape[0]}")
    check(np.max(np.abs(ref[:, 0] - a["time"])) < 1e-6, f"{what}: times differ from the original's")
    worst_conf = float(np.max(np.abs(ref[:, 2] - a["confidence"])))
    check(worst_conf < 1e-3, f"{what}: confidence differs from the original's by up to {worst_conf}")
    confident = ref[:, 2] > 0.5
    cents = 1200 * np.abs(np.log2(a["frequency"][confident].astype(np.float64) / ref[confident, 1]))
    share = float(np.mean(cents <= 10))
    check(share >= 0.99, f"{what}: only {100 * share:.1f}% of confident frames within 10 cents of the original's")
    log(f"  vs the original CREPE ({fixture}): confidence within {worst_conf:.1e}, "
        f"{100 * share:.1f}% of {int(confident.sum())} confident frames within 10 cents (worst {cents.max():.2f})")


def expect_error(fn, code, what):
    try:
        fn()
    except grpc.RpcError as e:
        check(e.code() == code, f"{what}: expected {code.name}, got {e.code().name}: {e.details()}")
        check(bool(e.details() and e.details().strip()), f"{what}: {code.name} with an empty message")
        log(f"  {what}: {e.code().name}: {e.details()}")
        return
    raise AssertionError(f"{what}: expected {code.name}, but the call succeeded")


def expect_reason(fn, code, reason, what):
    """The call fails with `code` and a google.rpc.ErrorInfo detail (domain crepe.v1) giving `reason`."""
    try:
        fn()
    except grpc.RpcError as e:
        check(e.code() == code, f"{what}: expected {code.name}, got {e.code().name}: {e.details()}")
        status = rpc_status.from_call(e)
        check(status is not None, f"{what}: no google.rpc.Status in the trailers")
        reasons = []
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reasons.append((info.domain, info.reason))
        check(("crepe.v1", reason) in reasons, f"{what}: ErrorInfo {reasons}, expected crepe.v1 / {reason}")
        log(f"  {what}: {e.code().name} with ErrorInfo reason {reason}")
        return
    raise AssertionError(f"{what}: expected {code.name}, but the call succeeded")


def stream_requests(config, data, bytes_per_sample, close_when=None, close_timeout=60, state=None):
    """config, then `data` in ragged chunks (CHUNK_SAMPLES cycled), then (once close_when is set,
    if given, or after close_timeout seconds, recorded in state["timed_out"]) the half-close."""
    yield pb.StreamRequest(config=config)
    pos, i = 0, 0
    while pos < len(data):
        size = CHUNK_SAMPLES[i % len(CHUNK_SAMPLES)] * bytes_per_sample
        i += 1
        yield pb.StreamRequest(audio=data[pos:pos + size])
        pos += size
    if close_when is not None:
        timed_out = not close_when.wait(close_timeout)
        if state is not None:
            state["timed_out"] = timed_out


def run_stream(stub, config, data, bytes_per_sample, n_frames, want_before_close, what):
    """Streams `data`; holds the half-close until `want_before_close` frames have arrived (the
    frames that are final before the end), so that this also checks results come as they are
    ready. Returns (frames, frames received before the half-close, summary, started)."""
    enough = threading.Event()
    state = {"timed_out": False}
    it = stub.StreamPredict(stream_requests(config, data, bytes_per_sample, enough, state=state),
                            timeout=RPC_TIMEOUT_S)
    frames = Frames()
    started = summary = None
    before_close = None
    received = 0
    try:
        for m in it:
            kind = m.WhichOneof("message")
            if kind == "started":
                check(started is None and received == 0, f"{what}: `started` is not the first message, or comes twice")
                started = m.started
            elif kind == "frames":
                check(started is not None, f"{what}: frames before `started`")
                check(summary is None, f"{what}: frames after `summary`")
                check(m.frames.first_frame == received,
                      f"{what}: frames message starts at frame {m.frames.first_frame}, expected {received}")
                frames.add(m.frames)
                received += len(m.frames.time_s)
                if not enough.is_set() and received >= want_before_close:
                    before_close = received
                    enough.set()
            elif kind == "summary":
                check(summary is None, f"{what}: two summaries")
                summary = m.summary
            else:
                raise AssertionError(f"{what}: a StreamResponse with nothing set")
    finally:
        enough.set()  # never leave the request thread waiting
    if before_close is None or state["timed_out"]:
        before_close = -1  # not reached before the request thread gave up waiting and half-closed
    check(started is not None, f"{what}: no `started` message")
    check(summary is not None, f"{what}: no `summary` message")
    check(it.code() == grpc.StatusCode.OK, f"{what}: stream ended with {it.code()}")
    check(received == n_frames, f"{what}: {received} frames, expected {n_frames}")
    check(summary.frames == n_frames, f"{what}: summary.frames {summary.frames}, expected {n_frames}")
    return frames, before_close, summary, started


# --------------------------------------------------------------------------------------------
# The test


def run(args, server, work_dir):
    samples_i16, rate = read_wav_int16(args.wav)
    n = len(samples_i16)
    samples_f32 = (samples_i16.astype(np.float32) / np.float32(32768)).astype(np.float32)
    n_frames = expected_frames(n, rate)
    log(f"audio: {args.wav}: {n} samples at {rate} Hz -> {n_frames} frames")

    server.start()
    channel = grpc.insecure_channel(server.address, options=[("grpc.max_receive_message_length", 64 << 20),
                                                              ("grpc.max_send_message_length", 64 << 20)])
    try:
        wait_serving(channel, server)
        stub = pb_grpc.PitchServiceStub(channel)

        # ListModels ------------------------------------------------------------------------
        listed = stub.ListModels(pb.ListModelsRequest(), timeout=RPC_TIMEOUT_S)
        names = [m.model.name for m in listed.models]
        check(sorted(names) == sorted(MODELS), f"ListModels lists {names}, expected exactly {MODELS}")
        for m in listed.models:
            name = m.model.name
            check(m.state == pb.ModelStatus.STATE_READY, f"{name}: state {pb.ModelStatus.State.Name(m.state)}, not READY")
            check(pb.Capacity.Name(m.model.capacity) == "CAPACITY_" + name.upper(),
                  f"{name}: capacity {pb.Capacity.Name(m.model.capacity)}")
            sha = m.model.weights_sha256
            check(len(sha) == 64 and all(ch in "0123456789abcdef" for ch in sha), f"{name}: weights_sha256 {sha!r}")
            with open(os.path.join(args.models_dir, name + ".h5"), "rb") as f:
                local = hashlib.sha256(f.read()).hexdigest()
            check(sha == local, f"{name}: weights_sha256 {sha} is not that of {name}.h5 ({local})")
            check(m.model.device != "", f"{name}: empty device")
            check(m.error == "", f"{name}: error {m.error!r} on a READY model")
            check(m.embedding_width > 0 and m.max_batch_frames > 0, f"{name}: embedding_width / max_batch_frames unset")
        log(f"ListModels: {', '.join(f'{m.model.name} READY on {m.model.device}' for m in listed.models)}")

        def predict(audio, what, **options):
            options.setdefault("model", pb.CAPACITY_TINY)
            # The original CREPE's behaviour unless a check asks otherwise (the service's own
            # defaults are checked on their own below); None leaves a field unset.
            options.setdefault("decoder", pb.DECODER_WEIGHTED_ARGMAX)
            options.setdefault("post", pb.PostProcessing())
            options = {k: v for k, v in options.items() if v is not None}
            request = pb.PredictRequest(options=pb.PredictOptions(**options), audio=audio, request_id="py-" + what)
            t0 = time.monotonic()
            r = stub.Predict(request, timeout=RPC_TIMEOUT_S)
            check(r.request_id == "py-" + what, f"{what}: request_id {r.request_id!r} not echoed")
            frames = Frames()
            check(r.frames.first_frame == 0, f"{what}: first_frame {r.frames.first_frame}")
            frames.add(r.frames)
            log(f"Predict {what}: {len(r.frames.time_s)} frames in {time.monotonic() - t0:.2f} s")
            return r, frames.arrays()

        # Predict: float32 PCM, with activations -------------------------------------------
        r, f32 = predict(pcm_audio(samples_f32, rate, "float32"), "float32",
                         outputs=pb.OutputSelection(activations=True))
        check(r.model.name == "tiny" and r.model.capacity == pb.CAPACITY_TINY, f"float32: served by {r.model.name}")
        check(abs(r.audio_seconds - n / rate) < 1e-9, f"float32: audio_seconds {r.audio_seconds}, expected {n / rate}")
        median = assert_plausible(f32, n_frames, "Predict float32")
        act = f32["activations"]
        check(act.shape == (n_frames, 360), f"activations shape {act.shape}")
        check(np.array_equal(f32["confidence"], act.max(axis=1)), "confidence is not the largest activation")
        compare_with_original(f32, "test-tiny-weighted_argmax", "Predict float32", args.wav)
        log(f"  median confident pitch {median:.1f} Hz")

        # Predict: int16 PCM, the same samples: the same result ------------------------------
        _, i16 = predict(pcm_audio(samples_i16, rate, "int16"), "int16")
        assert_plausible(i16, n_frames, "Predict int16")
        f32_no_act = {k: v for k, v in f32.items() if k != "activations"}
        assert_same_frames(i16, f32_no_act, "Predict int16 vs float32 PCM of the same samples")

        # Predict: the encoded WAV (16-bit): the same as the int16 PCM -----------------------
        with open(args.wav, "rb") as fh:
            wav_bytes = fh.read()
        r, enc = predict(pb.Audio(encoded=wav_bytes), "wav")
        check(abs(r.audio_seconds - n / rate) < 1e-9, f"wav: audio_seconds {r.audio_seconds}")
        assert_same_frames(enc, i16, "Predict encoded WAV vs int16 PCM")

        # Predict: Viterbi, float16 activations -----------------------------------------------
        _, vit = predict(pcm_audio(samples_i16, rate, "int16"), "viterbi", decoder=pb.DECODER_VITERBI,
                         outputs=pb.OutputSelection(activations=True, tensor_encoding=pb.TENSOR_ENCODING_FLOAT16))
        assert_plausible(vit, n_frames, "Predict viterbi")
        compare_with_original(vit, "test-tiny-viterbi", "Predict viterbi", args.wav)
        check(vit["activations"].dtype == np.dtype("<f2"), "float16 activations not float16")
        check(bitwise_equal(vit["activations"], act.astype("<f2")),
              "float16 activations are not the float32 ones rounded to half precision")
        check(np.array_equal(vit["confidence"], f32["confidence"]), "Viterbi changed the confidence")

        # Predict: the service's defaults (no decoder, no PostProcessing message) -------------
        # VITERBI_CONFIDENCE, periodicity median 3, voicing threshold 0.5: pitch is NaN exactly
        # where the (filtered) periodicity is below 0.5.
        _, dflt = predict(pcm_audio(samples_i16, rate, "int16"), "defaults", decoder=None, post=None)
        unvoiced = dflt["periodicity"] < 0.5
        check(np.array_equal(np.isnan(dflt["frequency"]), unvoiced), "defaults: NaN pitch is not where periodicity < 0.5")
        check(0 < unvoiced.sum() < len(unvoiced), f"defaults: {unvoiced.sum()} of {len(unvoiced)} frames unvoiced")
        check(np.array_equal(dflt["confidence"], f32["confidence"]), "defaults changed the confidence")

        # Predict: the full model, on the first second ---------------------------------------
        r, full = predict(pcm_audio(samples_i16[:rate], rate, "int16"), "full", model=pb.CAPACITY_FULL)
        check(r.model.name == "full" and r.model.capacity == pb.CAPACITY_FULL, f"full: served by {r.model.name}")
        assert_plausible(full, expected_frames(rate, rate), "Predict full")

        # StreamPredict: float32, ragged chunks == Predict float32 ----------------------------
        # Every frame whose window ends before the last samples is final before the half-close.
        t0 = time.monotonic()
        config = pb.StreamConfig(options=pb.PredictOptions(model=pb.CAPACITY_TINY, decoder=pb.DECODER_WEIGHTED_ARGMAX,
                                                           post=pb.PostProcessing(),
                                                           outputs=pb.OutputSelection(activations=True)),
                                 sample_rate_hz=rate, channels=1, format=pb.SAMPLE_FORMAT_FLOAT32, request_id="py-s1")
        frames, before_close, summary, started = run_stream(
            stub, config, samples_f32.astype("<f4").tobytes(), 4, n_frames, n_frames - 8, "StreamPredict float32")
        log(f"StreamPredict float32: {len(frames.first_frames)} frames messages, >= {before_close} of {n_frames} frames "
            f"before the half-close, {time.monotonic() - t0:.2f} s")
        check(started.name == "tiny" and started.weights_sha256 == listed.models[names.index("tiny")].model.weights_sha256,
              f"stream started on {started.name}")
        check(abs(summary.audio_seconds - n / rate) < 1e-9, f"stream summary.audio_seconds {summary.audio_seconds}")
        check(before_close >= n_frames - 8,
              f"StreamPredict held results back: only {before_close} of {n_frames} frames before the half-close")
        assert_same_frames(frames.arrays(), f32, "StreamPredict float32 vs Predict float32")

        # StreamPredict: int16, Viterbi, ragged chunks == Predict Viterbi --------------------
        t0 = time.monotonic()
        config = pb.StreamConfig(options=pb.PredictOptions(
            model=pb.CAPACITY_TINY, decoder=pb.DECODER_VITERBI, post=pb.PostProcessing(),
            outputs=pb.OutputSelection(activations=True, tensor_encoding=pb.TENSOR_ENCODING_FLOAT16)),
            sample_rate_hz=rate, format=pb.SAMPLE_FORMAT_INT16)
        # Viterbi frames are final once the surviving paths merge; at least half of them should
        # come before the end, the rest when the stream half-closes.
        frames, before_close, summary, _ = run_stream(
            stub, config, samples_i16.astype("<i2").tobytes(), 2, n_frames, n_frames // 2, "StreamPredict viterbi")
        log(f"StreamPredict viterbi: {len(frames.first_frames)} frames messages, >= {before_close} of {n_frames} "
            f"frames before the half-close, {time.monotonic() - t0:.2f} s")
        check(before_close >= n_frames // 2,
              f"StreamPredict viterbi held results back: fewer than {n_frames // 2} frames before the half-close")
        assert_same_frames(frames.arrays(), vit, "StreamPredict viterbi vs Predict viterbi")

        # Bad requests --------------------------------------------------------------------
        log("bad requests:")
        short = pcm_audio(samples_i16[:4410], rate, "int16")
        bad = grpc.StatusCode.INVALID_ARGUMENT

        def call(options, audio):
            return lambda: stub.Predict(pb.PredictRequest(options=options, audio=audio), timeout=RPC_TIMEOUT_S)

        expect_error(call(pb.PredictOptions(), short), bad, "Predict without a model")
        expect_error(call(pb.PredictOptions(model=pb.CAPACITY_TINY), pcm_audio(samples_i16[:4410], 10, "int16")), bad,
                     "Predict at 10 Hz")
        expect_error(call(pb.PredictOptions(model=pb.CAPACITY_TINY),
                          pb.Audio(pcm=pb.PcmAudio(sample_rate_hz=rate, data=b"\0\0\0\0"))), bad,
                     "Predict without a sample format")
        expect_error(call(pb.PredictOptions(model=pb.CAPACITY_TINY),
                          pb.Audio(pcm=pb.PcmAudio(sample_rate_hz=rate, format=pb.SAMPLE_FORMAT_INT16, data=b"\0\0\0"))),
                     bad, "Predict with half an int16 sample")
        expect_error(call(pb.PredictOptions(model=pb.CAPACITY_TINY), pb.Audio()), bad, "Predict without audio")
        expect_error(call(pb.PredictOptions(model=pb.CAPACITY_TINY), pb.Audio(encoded=b"not a sound file" * 8)), bad,
                     "Predict with undecodable encoded audio")
        expect_error(call(pb.PredictOptions(model=pb.CAPACITY_SMALL), short), grpc.StatusCode.NOT_FOUND,
                     "Predict with a model the server does not hold")
        # 300 s with activations and embeddings would need a response over the 64 MiB message limit.
        long_silence = pb.Audio(pcm=pb.PcmAudio(sample_rate_hz=16000, format=pb.SAMPLE_FORMAT_INT16,
                                                data=bytes(2 * 16000 * 300)))
        expect_reason(call(pb.PredictOptions(model=pb.CAPACITY_TINY,
                                             outputs=pb.OutputSelection(activations=True, embeddings=True)),
                           long_silence), grpc.StatusCode.RESOURCE_EXHAUSTED, "RESPONSE_TOO_LARGE",
                      "Predict whose response would exceed the message limit")

        def stream(requests):
            return lambda: list(stub.StreamPredict(iter(requests), timeout=RPC_TIMEOUT_S))

        ok_config = pb.StreamConfig(options=pb.PredictOptions(model=pb.CAPACITY_TINY), sample_rate_hz=rate,
                                    format=pb.SAMPLE_FORMAT_INT16)
        expect_error(stream([pb.StreamRequest(audio=b"\0\0")]), bad, "StreamPredict starting with audio")
        expect_error(stream([]), bad, "StreamPredict with no message at all")
        expect_error(stream([pb.StreamRequest(config=pb.StreamConfig(options=ok_config.options, sample_rate_hz=10,
                                                                     format=pb.SAMPLE_FORMAT_INT16))]), bad,
                     "StreamPredict at 10 Hz")
        expect_error(stream([pb.StreamRequest(config=pb.StreamConfig(sample_rate_hz=rate,
                                                                     format=pb.SAMPLE_FORMAT_INT16))]), bad,
                     "StreamPredict without a model")
        expect_error(stream([pb.StreamRequest(config=ok_config), pb.StreamRequest(config=ok_config)]), bad,
                     "StreamPredict with a second config")
        expect_error(stream([pb.StreamRequest(config=ok_config), pb.StreamRequest(audio=b"\0")]), bad,
                     "StreamPredict with half an int16 sample")

        # The server still works after all that, and counted the frames -------------------
        listed = stub.ListModels(pb.ListModelsRequest(), timeout=RPC_TIMEOUT_S)
        tiny = listed.models[[m.model.name for m in listed.models].index("tiny")]
        check(tiny.frames_processed >= 6 * n_frames,
              f"tiny processed {tiny.frames_processed} frames, expected at least {6 * n_frames}")
        check(tiny.batches_run > 0 and tiny.queued_frames == 0, "tiny: batcher counters")
        log(f"ListModels: tiny processed {tiny.frames_processed} frames in {tiny.batches_run} batches "
            f"(largest {tiny.largest_batch}, {tiny.batches_shared} shared)")

        # Health --------------------------------------------------------------------------
        health = health_pb2_grpc.HealthStub(channel)
        for s in ("", SERVICE):
            status = health.Check(health_pb2.HealthCheckRequest(service=s), timeout=10).status
            check(status == health_pb2.HealthCheckResponse.SERVING, f"health {s!r}: {status}")
        expect_error(lambda: health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=10),
                     grpc.StatusCode.NOT_FOUND, "health Check of an unknown service")
        log("health: SERVING for '' and " + SERVICE)

        # Reflection ------------------------------------------------------------------------
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        answers = list(reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                                                       timeout=30))
        check(len(answers) == 1 and answers[0].HasField("list_services_response"),
              f"reflection: unexpected answer {answers}")
        services = sorted(s.name for s in answers[0].list_services_response.service)
        for s in (SERVICE, "grpc.health.v1.Health"):
            check(s in services, f"reflection lists {services}, not {s}")
        # ... and describes the API, so that a client with no .proto can call it.
        pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
        service = pool.FindServiceByName(SERVICE)
        methods = {m.name: (m.input_type.full_name, m.output_type.full_name) for m in service.methods}
        check(methods == {"Predict": ("crepe.v1.PredictRequest", "crepe.v1.PredictResponse"),
                          "StreamPredict": ("crepe.v1.StreamRequest", "crepe.v1.StreamResponse"),
                          "ListModels": ("crepe.v1.ListModelsRequest", "crepe.v1.ListModelsResponse")},
              f"reflection describes {SERVICE} as {methods}")
        local = pb.DESCRIPTOR.services_by_name["PitchService"]
        check(pool.FindMessageTypeByName("crepe.v1.PitchFrames").fields_by_name.keys() ==
              pb.PitchFrames.DESCRIPTOR.fields_by_name.keys() and local.full_name == SERVICE,
              "reflection's PitchFrames differs from the .proto's")
        log(f"reflection: {services}; {SERVICE} has {sorted(methods)}")
    finally:
        channel.close()

    # Graceful shutdown -----------------------------------------------------------------------
    t0 = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    try:
        code = server.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        raise AssertionError("crepe-server still running 60 s after SIGTERM")
    check(code == 0, f"crepe-server exited with {code} after SIGTERM, expected 0")
    log(f"SIGTERM: exited 0 after {time.monotonic() - t0:.2f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server-bin", required=True, help="crepe-server executable")
    parser.add_argument("--models-dir", required=True, help="folder of <capacity>.h5 weights")
    parser.add_argument("--proto-dir", required=True, help="the repository's proto/ folder")
    parser.add_argument("--wav", default=DEFAULT_WAV, help="16-bit mono test clip (default: %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (stubs, server log)")
    args = parser.parse_args()

    for path, what in ((args.server_bin, "--server-bin"), (args.wav, "--wav")):
        if not os.path.isfile(path):
            print(f"FAIL: {what} {path} does not exist", file=sys.stderr)
            return 1
    for m in MODELS:
        if not os.path.isfile(os.path.join(args.models_dir, m + ".h5")):
            print(f"FAIL: no {m}.h5 in {args.models_dir} (run tools/fetch_weights.py)", file=sys.stderr)
            return 1

    work_dir = tempfile.mkdtemp(prefix="crepe-grpc-py-")
    server = Server(args.server_bin, args.models_dir, work_dir, MODELS)
    ok = False
    try:
        generate_stubs(args.proto_dir, os.path.join(work_dir, "stubs"))
        run(args, server, work_dir)
        ok = True
    except AssertionError as e:
        print(f"\nFAIL: {e}", file=sys.stderr)
        traceback.print_exc()
    except grpc.RpcError as e:
        print(f"\nFAIL: unexpected RPC error {e.code().name}: {e.details()}", file=sys.stderr)
        traceback.print_exc()
    except Exception:  # noqa: BLE001 (report anything, then clean up)
        print("\nFAIL: unexpected exception", file=sys.stderr)
        traceback.print_exc()
    finally:
        server.kill()
        server.close_log()
        if not ok:
            print(f"\n---- crepe-server log ({server.log_path}) ----\n{server.log_text()[-20000:]}", file=sys.stderr)
        if args.keep or not ok:
            print(f"temporary files kept in {work_dir}", file=sys.stderr)
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    if ok:
        log("PASS: a Python grpcio client called every RPC of crepe-server")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
