#!/usr/bin/env python3
"""crepe-server's Prometheus endpoint against the calls actually made (run with .venv-grpc's Python):

1. Off unless configured; a --metrics-listen that is not HOST:PORT stops the server with a message.
2. After Predict calls (OK and refused) and a StreamPredict, /metrics reports exactly those calls by
   method, model and code, the frames and audio seconds they received, and histograms whose counts
   equal the calls; frames_processed equals the frames the calls received.
3. While a stream is open: calls in flight 1, streams open 1; after it, 0 and 0.
4. The HTTP side: text format 0.0.4, HEAD, 404 elsewhere, 405 for POST, 413 for a body.
"""

import argparse
import http.client
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import queue

import grpc
import numpy as np

import pitch_stubs
from server_process import Server, check, log, running

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$')


def scrape(port, method="GET", path="/metrics", body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=body)
    response = conn.getresponse()
    text = response.read().decode()
    conn.close()
    return response.status, response.getheader("Content-Type"), text


def parse(text):
    """Samples by 'name{labels}' (labels as written); checks every line is a comment or a sample."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        check(m is not None, f"not a sample line: {line!r}")
        samples[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return samples


def histogram_ok(samples, name, labels, count):
    prefix = name + "_bucket{" + labels + ',le="'
    buckets = [(k, v) for k, v in samples.items() if k.startswith(prefix)]
    values = [v for _, v in buckets]
    check(values == sorted(values), f"{name}{{{labels}}}: buckets not cumulative")
    check(samples[prefix + '+Inf"}'] == count and samples[f"{name}_count{{{labels}}}"] == count,
          f"{name}{{{labels}}}: count {samples.get(f'{name}_count{{{labels}}}')}, expected {count}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server-bin", required=True)
    parser.add_argument("--models-dir", required=True)
    parser.add_argument("--proto-dir", required=True)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="crepe-metrics-")
    pb, pb_grpc = pitch_stubs.generate(args.proto_dir, os.path.join(work, "stubs"))

    # 1 ------------------------------------------------------------------------------------------
    bad = subprocess.run([args.server_bin, "--listen", "127.0.0.1:0", "--models", "tiny", "--models-dir",
                          args.models_dir, "--metrics-listen", "nonsense"], capture_output=True, text=True, timeout=120)
    check(bad.returncode != 0 and "HOST:PORT" in bad.stdout + bad.stderr, f"bad --metrics-listen: {bad}")
    log("--metrics-listen nonsense: the server stops and says HOST:PORT")

    metrics_port_file = os.path.join(work, "metrics-port")
    server = Server(args.server_bin, args.models_dir, work, ["tiny"],
                    ["--metrics-listen", "127.0.0.1:0", "--metrics-port-file", metrics_port_file])
    with running(server):
        channel = grpc.insecure_channel(server.address)
        stub = pitch_stubs.wait_ready(server, channel, pb, pb_grpc)
        with open(metrics_port_file) as f:
            port = int(f.read())
        tiny = pb.PredictOptions(model=pb.CAPACITY_TINY)
        rng = np.random.default_rng(7)

        def pcm(seconds):
            samples = (0.2 * np.sin(np.arange(int(16000 * seconds)) * 0.07) + 0.01 * rng.standard_normal(
                int(16000 * seconds))).astype("<f4")
            return pb.PcmAudio(sample_rate_hz=16000, channels=1, format=pb.SAMPLE_FORMAT_FLOAT32, data=samples.tobytes())

        # 2 --------------------------------------------------------------------------------------
        predict_frames = 0
        for seconds in (1.0, 2.5, 0.3):
            r = stub.Predict(pb.PredictRequest(options=tiny, audio=pb.Audio(pcm=pcm(seconds))), timeout=120)
            predict_frames += len(r.frames.frequency_hz)
        for options in (pb.PredictOptions(), pb.PredictOptions(model=pb.CAPACITY_TINY, hop_ms=-1)):
            try:
                stub.Predict(pb.PredictRequest(options=options, audio=pb.Audio(pcm=pcm(0.1))), timeout=60)
                raise AssertionError("an invalid request was served")
            except grpc.RpcError as e:
                check(e.code() == grpc.StatusCode.INVALID_ARGUMENT, f"invalid request: {e.code()}")

        # 3: a stream held open while the metrics are read ---------------------------------------
        outgoing = queue.Queue()
        config = pb.StreamConfig(options=tiny, sample_rate_hz=16000, format=pb.SAMPLE_FORMAT_FLOAT32)
        outgoing.put(pb.StreamRequest(config=config))
        outgoing.put(pb.StreamRequest(audio=pcm(1.0).data))
        responses = stub.StreamPredict(iter(outgoing.get, None), timeout=120)
        stream_frames = []
        reader = threading.Thread(target=lambda: stream_frames.extend(
            len(m.frames.frequency_hz) for m in responses if m.HasField("frames")))
        reader.start()
        status, _, text = scrape(port)
        during = parse(text)
        check(during["crepe_calls_in_flight"] == 1 and during["crepe_streams_open"] == 1,
              f"while streaming: in flight {during['crepe_calls_in_flight']}, streams {during['crepe_streams_open']}")
        outgoing.put(pb.StreamRequest(audio=pcm(0.5).data))
        outgoing.put(None)
        reader.join(timeout=120)
        check(not reader.is_alive(), "the stream did not end")
        stream_frames = sum(stream_frames)
        log(f"while a stream was open: crepe_calls_in_flight 1, crepe_streams_open 1")

        # A call is counted in gRPC's OnDone, which may run a moment after the client saw its status;
        # its admission ends after that, so "no call in flight" means every call has been counted.
        deadline = time.monotonic() + 30
        while True:
            status, content_type, text = scrape(port)
            check(status == 200 and content_type.startswith("text/plain; version=0.0.4"), f"{status} {content_type}")
            s = parse(text)
            if s["crepe_calls_in_flight"] == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        p_ok = 'method="Predict",model="tiny"'
        check(s[f'crepe_requests_total{{{p_ok},code="OK"}}'] == 3, "Predict OK count")
        # Refused while its options were decoded: no model is known yet.
        check(s['crepe_requests_total{method="Predict",model="none",code="INVALID_ARGUMENT"}'] == 2,
              "invalid requests: model none")
        s_ok = 'method="StreamPredict",model="tiny"'
        check(s[f'crepe_requests_total{{{s_ok},code="OK"}}'] == 1, "StreamPredict OK count")
        check(s[f"crepe_request_frames_total{{{p_ok}}}"] == predict_frames,
              f"Predict frames {s[f'crepe_request_frames_total{{{p_ok}}}']} != {predict_frames}")
        check(s[f"crepe_request_frames_total{{{s_ok}}}"] == stream_frames, "StreamPredict frames")
        check(abs(s[f"crepe_request_audio_seconds_total{{{p_ok}}}"] - 3.8) < 1e-9, "Predict audio seconds")
        check(abs(s[f"crepe_request_audio_seconds_total{{{s_ok}}}"] - 1.5) < 1e-9, "StreamPredict audio seconds")
        check(s['crepe_frames_processed_total{model="tiny"}'] == predict_frames + stream_frames,
              "frames the network ran = frames the calls received")
        histogram_ok(s, "crepe_request_duration_seconds", p_ok, 3)
        histogram_ok(s, "crepe_request_duration_seconds", 'method="Predict",model="none"', 2)
        histogram_ok(s, "crepe_request_queue_duration_seconds", p_ok, 3)
        histogram_ok(s, "crepe_request_compute_duration_seconds", s_ok, 1)
        histogram_ok(s, "crepe_batch_size_frames", 'model="tiny"', s['crepe_batches_total{model="tiny"}'])
        check(s['crepe_batch_size_frames_sum{model="tiny"}'] == predict_frames + stream_frames, "batch size sum")
        check(s["crepe_calls_in_flight"] == 0 and s["crepe_streams_open"] == 0, "after the calls: 0 and 0")
        check(s['crepe_frames_queued{model="tiny"}'] == 0, "nothing queued at rest")
        check(s['crepe_model_state{model="tiny",state="ready"}'] == 1, "tiny ready")
        check(s['crepe_model_resident_memory_bytes{model="tiny",device="cpu"}'] > 1e6, "tiny's weights resident")
        check(s["process_resident_memory_bytes"] > 50e6, "process memory")
        log(f"/metrics after 5 Predict (3 OK, 2 INVALID_ARGUMENT) and 1 StreamPredict: counts, "
            f"{predict_frames}+{stream_frames} frames, audio seconds and histograms as sent")

        # 4 --------------------------------------------------------------------------------------
        status, _, text = scrape(port, "HEAD")
        check(status == 200 and text == "", "HEAD /metrics")
        check(scrape(port, path="/")[0] == 404 and scrape(port, path="/metrics/x")[0] == 404, "404 elsewhere")
        check(scrape(port, "POST")[0] == 405, "405 for POST")
        check(scrape(port, "GET", body=b"x" * 1000)[0] == 413, "413 for a body")
        check(scrape(port)[0] == 200, "still serving after the refused requests")
        log("HTTP: HEAD, 404, 405, 413 and then 200 again")
        channel.close()
    shutil.rmtree(work, ignore_errors=True)
    log("PASS: Prometheus metrics")


if __name__ == "__main__":
    main()
