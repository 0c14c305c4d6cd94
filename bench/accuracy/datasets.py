"""Finding annotated tracks and reading their references.

A dataset is a folder of `<track>.<wav|flac|ogg>` files, each with a `<track>.f0.csv` beside it
(header `time,frequency`: seconds and Hz, 0 where the reference is unvoiced, any time grid). The
harness is given either one such folder or a folder of them (the layout of ../shared/eval/public).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from estimates import Track

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg")
REFERENCE_SUFFIX = ".f0.csv"


class DatasetError(Exception):
    """A folder or a reference file the harness cannot score against; the message says why."""


@dataclass
class Reference:
    time: np.ndarray  # seconds, strictly increasing
    frequency: np.ndarray  # Hz, 0 = unvoiced


def _tracks_in(folder: Path) -> list[Track]:
    tracks = []
    references = {p.name[: -len(REFERENCE_SUFFIX)] for p in folder.iterdir() if p.name.endswith(REFERENCE_SUFFIX)}
    audio = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS:
            if p.stem in audio:
                raise DatasetError("%s: two audio files for track %r (%s, %s)" % (folder, p.stem, audio[p.stem].name,
                                                                                   p.name))
            audio[p.stem] = p
    for name in sorted(set(audio) & references):
        tracks.append(Track(folder.name, name, str(audio[name].resolve()),
                            str((folder / (name + REFERENCE_SUFFIX)).resolve())))
    for name in sorted(references - set(audio)):
        print("warning: %s: reference without audio, skipped" % (folder / (name + REFERENCE_SUFFIX)))
    for name in sorted(set(audio) - references):
        print("warning: %s: audio without a %s reference, skipped" % (audio[name], REFERENCE_SUFFIX))
    return tracks


def discover(paths: list[str]) -> list[Track]:
    """Tracks of every dataset under the given folders, sorted by dataset and name."""
    tracks: list[Track] = []
    for raw in paths:
        root = Path(raw)
        if not root.is_dir():
            raise DatasetError("%s: not a folder" % root)
        direct = _tracks_in(root)
        if direct:
            tracks += direct
        else:
            for sub in sorted(p for p in root.iterdir() if p.is_dir()):
                tracks += _tracks_in(sub)
    if not tracks:
        raise DatasetError("no annotated tracks (<track>.wav|flac|ogg with <track>%s) under %s"
                           % (REFERENCE_SUFFIX, ", ".join(paths)))
    seen = {}
    for t in tracks:
        key = (t.dataset, t.name)
        if key in seen:
            raise DatasetError("dataset %r appears twice (%s and %s)" % (t.dataset, seen[key], t.audio))
        seen[key] = t.audio
    return sorted(tracks, key=lambda t: (t.dataset, t.name))


def read_reference(path: str) -> Reference:
    with open(path) as f:
        lines = f.read().splitlines()
    if not lines or lines[0].strip().replace(" ", "") != "time,frequency":
        raise DatasetError("%s: the first line must be the header 'time,frequency'" % path)
    times, freqs = [], []
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split(",")
        try:
            if len(parts) != 2:
                raise ValueError
            t, f = float(parts[0]), float(parts[1])
        except ValueError:
            raise DatasetError("%s:%d: expected 'time,frequency', got %r" % (path, n, line)) from None
        if not (math.isfinite(t) and math.isfinite(f)) or f < 0 or t < 0:
            raise DatasetError("%s:%d: time and frequency must be finite and not negative, got %r" % (path, n, line))
        if times and t <= times[-1]:
            raise DatasetError("%s:%d: times must increase (%g after %g)" % (path, n, t, times[-1]))
        times.append(t)
        freqs.append(f)
    if not times:
        raise DatasetError("%s: no rows" % path)
    return Reference(np.array(times), np.array(freqs))
