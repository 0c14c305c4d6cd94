#!/usr/bin/env python3
"""Request ids, JSON logs and connection ageing of crepe-server (run with .venv-grpc's Python):

1. A call's id is the request's request_id, else the caller's x-request-id metadata, else made up;
   the server sends it back as x-request-id response metadata (Predict, a refused Predict,
   StreamPredict) and logs the call under it.
2. --log-format json: every line of the server's output is one JSON object (time, level, msg),
   whatever bytes a caller put in its request id.
3. --max-connection-age-s 1: the server sends GOAWAY every second or so; calls on one channel over
   several seconds all succeed (clients reconnect; calls in progress finish).
4. crepe-client names the request id of an input that failed.
"""

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time

import grpc
import numpy as np

import pitch_stubs
from server_process import Server, check, log, running


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server-bin", required=True)
    parser.add_argument("--client-bin", required=True)
    parser.add_argument("--models-dir", required=True)
    parser.add_argument("--proto-dir", required=True)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="crepe-tracing-")
    pb, pb_grpc = pitch_stubs.generate(args.proto_dir, os.path.join(work, "stubs"))
    server = Server(args.server_bin, args.models_dir, work, ["tiny"],
                    ["--log-format", "json", "--max-connection-age-s", "1", "--max-connection-age-grace-s", "30"])
    with running(server):
        channel = grpc.insecure_channel(server.address)
        stub = pitch_stubs.wait_ready(server, channel, pb, pb_grpc)
        audio = pb.Audio(pcm=pb.PcmAudio(sample_rate_hz=16000, channels=1, format=pb.SAMPLE_FORMAT_FLOAT32,
                                         data=(0.1 * np.sin(np.arange(16000) * 0.1)).astype("<f4").tobytes()))
        tiny = pb.PredictOptions(model=pb.CAPACITY_TINY)

        def echoed(call):
            return dict(call.initial_metadata()).get("x-request-id")

        # 1 --------------------------------------------------------------------------------------
        r, call = stub.Predict.with_call(pb.PredictRequest(options=tiny, audio=audio), timeout=120,
                                         metadata=[("x-request-id", "trace-from-metadata")])
        check(r.request_id == "trace-from-metadata" and echoed(call) == "trace-from-metadata", "metadata id")
        r, call = stub.Predict.with_call(pb.PredictRequest(options=tiny, audio=audio, request_id='field"id\n'),
                                         timeout=120, metadata=[("x-request-id", "ignored")])
        check(r.request_id == 'field"id\n' and echoed(call) == 'field\\"id\\x0a', f"field id: {echoed(call)!r}")
        r, call = stub.Predict.with_call(pb.PredictRequest(options=tiny, audio=audio), timeout=120)
        made = r.request_id
        check(made.startswith("r") and echoed(call) == made, f"made-up id {made!r}, echoed {echoed(call)!r}")
        try:
            stub.Predict(pb.PredictRequest(options=pb.PredictOptions(model=pb.CAPACITY_FULL), audio=audio), timeout=60,
                         metadata=[("x-request-id", "refused-call")])
            raise AssertionError("a model the server lacks was served")
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.NOT_FOUND and dict(e.initial_metadata()).get("x-request-id") == "refused-call",
                  f"refused call: {e.code()} {e.initial_metadata()}")
        config = pb.StreamConfig(options=tiny, sample_rate_hz=16000, format=pb.SAMPLE_FORMAT_FLOAT32)
        call = stub.StreamPredict(iter([pb.StreamRequest(config=config), pb.StreamRequest(audio=audio.pcm.data)]),
                                  timeout=120, metadata=[("x-request-id", "stream-trace")])
        check(sum(1 for _ in call) >= 3 and echoed(call) == "stream-trace", f"stream id {echoed(call)!r}")
        log("request ids: from metadata, from the field (escaped in the header), made up; echoed as x-request-id "
            "on Predict, a refused Predict and StreamPredict")

        # 3 --------------------------------------------------------------------------------------
        start = time.monotonic()
        calls = 0
        while time.monotonic() - start < 4:
            stub.Predict(pb.PredictRequest(options=tiny, audio=audio), timeout=120)
            calls += 1
        log(f"--max-connection-age-s 1: {calls} calls over {time.monotonic() - start:.1f} s on one channel, all OK")
        channel.close()

        # 4 --------------------------------------------------------------------------------------
        data = os.path.join(work, "data")
        os.makedirs(data)
        with open(os.path.join(data, "broken.wav"), "wb") as f:
            f.write(b"RIFF....WAVEfmt nonsense")
        done = subprocess.run([args.client_bin, "predict", "-q", "--server", server.address, "-m", "tiny", "-o",
                               os.path.join(work, "out"), data], capture_output=True, text=True, timeout=300)
        check(done.returncode == 1 and 'broken.wav (request id "broken")' in done.stderr,
              f"crepe-client did not name the request id:\n{done.stderr}")
        log("crepe-client names the request id of a failed input")

        server.proc.terminate()
        server.proc.wait(timeout=60)
        # 2 --------------------------------------------------------------------------------------
        lines = server.log_text().splitlines()
        records = []
        for line in lines:
            try:
                records.append(json.loads(line))
            except ValueError:
                raise AssertionError(f"a log line that is not JSON: {line!r}")
        check(all(set(r) == {"time", "level", "msg"} for r in records), "JSON records: time, level, msg")
        messages = [r["msg"] for r in records]
        for rid in ("trace-from-metadata", 'field\\"id\\x0a', made, "refused-call", "stream-trace", "broken"):
            check(any(m.startswith(f'request "{rid}" ') for m in messages), f"no log line for request {rid!r}")
        log(f"--log-format json: {len(records)} lines, every one a JSON object; each call logged under its id")
    shutil.rmtree(work, ignore_errors=True)
    log("PASS: request ids, JSON logs and connection ageing")


if __name__ == "__main__":
    main()
