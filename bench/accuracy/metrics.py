"""Melody-extraction metrics, frame-weighted, with the estimate read at each reference time.

The estimate's pitch is interpolated linearly in cents between its own frames (frames without a
pitch are left out), and its voicing strength (periodicity or confidence) linearly in value; a
reference row counts as estimated-voiced when that strength is at least the threshold.

  RPA  reference-voiced rows whose estimate is within 50 cents (the estimate's voicing is ignored)
  RCA  the same with octave errors forgiven (the difference taken modulo 1200 cents)
  VR   reference-voiced rows estimated voiced          VFA  reference-unvoiced rows estimated voiced
  OA   rows right about voicing and, where voiced, within 50 cents
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CENTS_TOLERANCE = 50.0
THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(1, 20))  # 0.05 ... 0.95


def hz_to_cents(hz: np.ndarray) -> np.ndarray:
    return 1200.0 * np.log2(hz / 10.0)


@dataclass
class Estimate:
    time: np.ndarray
    frequency: np.ndarray  # Hz; 0 or NaN = no pitch
    voicing: np.ndarray  # periodicity or confidence, 0..1


@dataclass
class Counts:
    """Row counts of one track or a sum of tracks; `voiced_hits`, `false_alarms` and `oa_correct`
    per threshold in THRESHOLDS."""

    ref_voiced: int = 0
    ref_unvoiced: int = 0
    pitch_correct: int = 0
    chroma_correct: int = 0
    voiced_hits: np.ndarray = field(default_factory=lambda: np.zeros(len(THRESHOLDS), np.int64))
    false_alarms: np.ndarray = field(default_factory=lambda: np.zeros(len(THRESHOLDS), np.int64))
    oa_correct: np.ndarray = field(default_factory=lambda: np.zeros(len(THRESHOLDS), np.int64))

    def __iadd__(self, other: "Counts") -> "Counts":
        self.ref_voiced += other.ref_voiced
        self.ref_unvoiced += other.ref_unvoiced
        self.pitch_correct += other.pitch_correct
        self.chroma_correct += other.chroma_correct
        self.voiced_hits = self.voiced_hits + other.voiced_hits
        self.false_alarms = self.false_alarms + other.false_alarms
        self.oa_correct = self.oa_correct + other.oa_correct
        return self

    @property
    def rows(self) -> int:
        return self.ref_voiced + self.ref_unvoiced

    def summary(self, threshold: float) -> dict:
        """The five metrics at `threshold` (one of THRESHOLDS), as fractions; NaN where undefined."""
        i = threshold_index(threshold)

        def frac(a, b):
            return float(a) / b if b else float("nan")

        return {
            "rows": self.rows,
            "voiced_rows": self.ref_voiced,
            "RPA": frac(self.pitch_correct, self.ref_voiced),
            "RCA": frac(self.chroma_correct, self.ref_voiced),
            "VR": frac(self.voiced_hits[i], self.ref_voiced),
            "VFA": frac(self.false_alarms[i], self.ref_unvoiced),
            "OA": frac(self.oa_correct[i], self.rows),
        }

    def best_oa(self) -> tuple[float, float]:
        """(threshold, OA) of the threshold in THRESHOLDS with the highest overall accuracy."""
        if not self.rows:
            return float("nan"), float("nan")
        i = int(np.argmax(self.oa_correct))
        return THRESHOLDS[i], float(self.oa_correct[i]) / self.rows


def threshold_index(threshold: float) -> int:
    for i, t in enumerate(THRESHOLDS):
        if abs(t - threshold) < 1e-9:
            return i
    raise ValueError("threshold %g is not one of %s" % (threshold, THRESHOLDS))


def read_at(estimate: Estimate, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cents, voicing) of the estimate at `times`; cents NaN where it has no pitch at all."""
    has_pitch = np.isfinite(estimate.frequency) & (estimate.frequency > 0)
    if has_pitch.any():
        cents = np.interp(times, estimate.time[has_pitch], hz_to_cents(estimate.frequency[has_pitch]))
    else:
        cents = np.full(times.shape, np.nan)
    voicing = np.interp(times, estimate.time, np.nan_to_num(estimate.voicing, nan=0.0))
    return cents, voicing


def score(ref_time: np.ndarray, ref_frequency: np.ndarray, estimate: Estimate) -> Counts:
    ref_voiced = ref_frequency > 0
    cents, voicing = read_at(estimate, ref_time)
    diff = np.full(ref_time.shape, np.inf)
    diff[ref_voiced] = np.abs(cents[ref_voiced] - hz_to_cents(ref_frequency[ref_voiced]))
    diff = np.nan_to_num(diff, nan=np.inf)
    pitch_ok = ref_voiced & (diff <= CENTS_TOLERANCE)
    octave = np.full(diff.shape, np.inf)
    finite = np.isfinite(diff)
    octave[finite] = np.abs(diff[finite] - 1200.0 * np.round(diff[finite] / 1200.0))
    chroma_ok = ref_voiced & (octave <= CENTS_TOLERANCE)
    c = Counts(int(ref_voiced.sum()), int((~ref_voiced).sum()), int(pitch_ok.sum()), int(chroma_ok.sum()))
    for i, t in enumerate(THRESHOLDS):
        est_voiced = voicing >= t
        c.voiced_hits[i] = int((ref_voiced & est_voiced).sum())
        c.false_alarms[i] = int((~ref_voiced & est_voiced).sum())
        c.oa_correct[i] = int((~ref_voiced & ~est_voiced).sum() + (pitch_ok & est_voiced).sum())
    return c


def read_estimate(stem: str) -> Estimate:
    """<stem>.f0.csv (time,frequency,confidence) and, when present, <stem>.periodicity.csv, which
    then gives the voicing strength instead of the confidence."""
    f0 = np.genfromtxt(stem + ".f0.csv", delimiter=",", names=True, dtype=float)
    f0 = np.atleast_1d(f0)
    voicing = f0["confidence"]
    try:
        per = np.atleast_1d(np.genfromtxt(stem + ".periodicity.csv", delimiter=",", names=True, dtype=float))
    except FileNotFoundError:
        per = None
    if per is not None:
        if len(per) != len(f0):
            raise ValueError("%s: %d periodicity rows for %d f0 rows" % (stem, len(per), len(f0)))
        voicing = per["periodicity"]
    return Estimate(np.asarray(f0["time"]), np.asarray(f0["frequency"]), np.asarray(voicing))
