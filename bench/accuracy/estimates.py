"""Estimate files and track lists shared by the harness and the peer runners.

Only the standard library and numpy, because this module is imported from three different
environments: the harness (.venv-peers), the original CREPE runner (.venv-tf) and the torchcrepe
runner (.venv-peers).

An estimate of one track is `<track>.f0.csv` with the header `time,frequency,confidence`, the
format of the original CREPE's CLI and of crepe-predict, plus, when the system has a voicing signal
other than its confidence, `<track>.periodicity.csv` (`time,periodicity`).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Track:
    dataset: str
    name: str
    audio: str  # absolute path
    reference: str  # absolute path of <name>.f0.csv


def save_tracks(tracks: list[Track], path: Path) -> None:
    write_atomically(path, json.dumps([t.__dict__ for t in tracks], indent=1))


def load_tracks(path: Path) -> list[Track]:
    return [Track(**t) for t in json.loads(Path(path).read_text())]


def write_atomically(path: Path, text: str) -> None:
    """Whole file or nothing: a killed run never leaves a truncated estimate behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def estimate_stem(root: Path, system: str, config: str, track: Track) -> Path:
    return Path(root) / system / config / track.dataset / track.name


def write_estimate(stem: Path, time, frequency, confidence, periodicity=None) -> None:
    rows = np.stack([np.asarray(time, float), np.asarray(frequency, float), np.asarray(confidence, float)], 1)
    lines = ["time,frequency,confidence"] + ["%.6f,%.6f,%.6f" % tuple(r) for r in rows]
    if periodicity is not None:
        per = ["time,periodicity"] + ["%.6f,%.6f" % (t, p) for t, p in zip(time, periodicity)]
        write_atomically(Path(str(stem) + ".periodicity.csv"), "\n".join(per) + "\n")
    # The f0.csv last: its presence marks the estimate complete.
    write_atomically(Path(str(stem) + ".f0.csv"), "\n".join(lines) + "\n")


def estimate_done(stem: Path) -> bool:
    return Path(str(stem) + ".f0.csv").is_file()


def write_timing(path: Path, record: dict) -> None:
    write_atomically(path, json.dumps(record, indent=1, sort_keys=True) + "\n")


def time_peer(out: Path, system: str, capacity: str, audio: str, threads: int, repeats: int, analyse, decoders: dict):
    """A peer's speed mode: `analyse()` (read the audio, run the network; returns its output and
    the frame count) then each of `decoders` ({name: fn(output)}) on it, `repeats` times; per
    decoder, the fastest analyse + decode total is written to <out>/<system>-<capacity>-<decoder>.json."""
    analyse_runs, decode_runs = [], {d: [] for d in decoders}
    frames = 0
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        output, frames = analyse()
        analyse_runs.append(time.perf_counter() - start)
        for name, fn in decoders.items():
            start = time.perf_counter()
            fn(output)
            decode_runs[name].append(time.perf_counter() - start)
    for name in decoders:
        runs = [a + b for a, b in zip(analyse_runs, decode_runs[name])]
        config = "%s-%s" % (capacity, name)
        write_timing(Path(out) / ("%s-%s.json" % (system, config)),
                     {"system": system, "config": config, "frames": int(frames), "seconds": min(runs),
                      "runs_seconds": runs, "threads": threads, "audio": audio})
        print("%s %s %s: %.1f frames/s" % (system, capacity, name, frames / min(runs)), flush=True)
