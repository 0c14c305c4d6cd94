#!/usr/bin/env python3
"""Pitch of audio files from a running crepe-server, with the Python client.

    pip install ./python
    python python/examples/predict_files.py --server 127.0.0.1:50051 -m full assets/examples/*.wav

For each file: sends it as it is (the server decodes WAV, FLAC, OGG), prints the frames, the voiced
share and the median voiced pitch, and with --out writes <name>.f0.csv like the original CREPE.
The files run concurrently on one channel; the server batches their frames together.
"""

import argparse
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from crepe_client import Client, CrepeError, PostProcessing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--server", default=os.environ.get("CREPE_SERVER", "127.0.0.1:50051"))
    parser.add_argument("-m", "--model", default="full", help="tiny, small, medium, large, full")
    parser.add_argument("--decoder", default="viterbi")
    parser.add_argument("--threshold", type=float, default=0.5, help="periodicity below which pitch is NaN")
    parser.add_argument("--out", help="folder for <name>.f0.csv")
    args = parser.parse_args()

    post = PostProcessing(periodicity_median_window=3, voicing_threshold=args.threshold)
    failed = 0
    with Client(args.server, timeout=600) as client, ThreadPoolExecutor(max_workers=8) as pool:
        jobs = {path: pool.submit(client.predict_file, path, model=args.model, decoder=args.decoder, post=post)
                for path in args.files}
        for path, job in jobs.items():
            try:
                p = job.result()
            except (CrepeError, OSError) as e:
                print(f"{path}: FAILED: {e}", file=sys.stderr)
                failed += 1
                continue
            voiced = ~np.isnan(p.frequency)
            median = f"{np.median(p.frequency[voiced]):.1f} Hz" if voiced.any() else "-"
            print(f"{path}: {len(p)} frames, {p.audio_seconds:.2f} s, {voiced.mean():.0%} voiced, median pitch {median} "
                  f"({p.model.name} on {p.model.device})")
            if args.out:
                os.makedirs(args.out, exist_ok=True)
                name = os.path.splitext(os.path.basename(path))[0] + ".f0.csv"
                table = np.column_stack([p.time, np.nan_to_num(p.frequency), p.confidence])
                np.savetxt(os.path.join(args.out, name), table, fmt=["%.3f", "%.3f", "%.6f"], delimiter=",",
                           header="time,frequency,confidence", comments="")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
