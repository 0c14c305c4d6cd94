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
