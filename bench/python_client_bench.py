#!/usr/bin/env python3
"""One timed run over a list of audio files, for bench/run_python_bench.sh:

  --runner client      crepe_client.Client.predict_file against --server, --threads calls at once
                       (run with an environment where the crepe-service-client wheel is installed)
  --runner torchcrepe  torchcrepe.predict in this process, file by file (run with .venv-torchcrepe):
                       what a Python user runs today; audio read with soundfile, torchcrepe resamples

Both: Viterbi decoding, a 10 ms hop, centre padding, pitch and periodicity returned. File reading
is inside the timed region on both sides (the client sends the encoded file; the server decodes
it). Prints one JSON line: seconds, files, frames, audio seconds.
"""

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def run_client(args, files):
    from crepe_client import Client, RAW

    frames = 0
    audio_s = 0.0
    with Client(args.server, timeout=3600) as client:
        client.predict_file(files[0], model=args.model, decoder="viterbi", post=RAW)  # connect, warm up
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.threads) as pool:
            for p in pool.map(lambda f: client.predict_file(f, model=args.model, decoder="viterbi", post=RAW), files):
                frames += len(p)
                audio_s += p.audio_seconds
        return time.perf_counter() - start, frames, audio_s


def run_torchcrepe(args, files):
    import soundfile
    import torch
    import torchcrepe

    torch.set_num_threads(os.cpu_count() or 1)
    frames = 0
    audio_s = 0.0
    warm, rate = soundfile.read(files[0], dtype="float32", always_2d=True)
    torchcrepe.predict(torch.from_numpy(warm.mean(axis=1))[None, :], rate, rate // 100, model=args.model,
                       decoder=torchcrepe.decode.viterbi, batch_size=args.batch, return_periodicity=True)
    start = time.perf_counter()
    for path in files:
        samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
        audio = torch.from_numpy(samples.mean(axis=1))[None, :]
        with torch.no_grad():
            pitch, _ = torchcrepe.predict(audio, rate, rate // 100, model=args.model, decoder=torchcrepe.decode.viterbi,
                                          batch_size=args.batch, return_periodicity=True)
        frames += pitch.shape[1]
        audio_s += len(samples) / rate
    return time.perf_counter() - start, frames, audio_s


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runner", choices=["client", "torchcrepe"], required=True)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--server", default="127.0.0.1:50051")
    parser.add_argument("--threads", type=int, default=8, help="client: calls in flight")
    parser.add_argument("--batch", type=int, default=512, help="torchcrepe: batch_size")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    seconds, frames, audio_s = (run_client if args.runner == "client" else run_torchcrepe)(args, args.files)
    print(json.dumps({"runner": args.runner, "model": args.model, "seconds": seconds, "files": len(args.files),
                      "frames": frames, "audio_seconds": audio_s}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
