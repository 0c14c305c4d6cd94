"""Whether a system's frame times are where its pitch is: each estimate is scored again with its
times shifted by a few milliseconds. Correct times score best unshifted, unless a dataset's own
reference is early or late, which moves every system's peak alike; a system whose times are off
peaks at a shift where the others do not."""

from __future__ import annotations

from pathlib import Path

import datasets
import metrics
from estimates import estimate_stem

SHIFTS_MS = (-10, -5, -2.5, 0, 2.5, 5, 10)


def rpa_by_shift(work_estimates: Path, system: str, config: str, tracks) -> dict:
    """{dataset or "overall": [RPA at each of SHIFTS_MS]}"""
    counts: dict[str, list[metrics.Counts]] = {}
    for t in tracks:
        ref = datasets.read_reference(t.reference)
        est = metrics.read_estimate(str(estimate_stem(work_estimates, system, config, t)))
        base = est.time
        for key in (t.dataset, "overall"):
            counts.setdefault(key, [metrics.Counts() for _ in SHIFTS_MS])
        for i, shift in enumerate(SHIFTS_MS):
            est.time = base + shift / 1000.0
            c = metrics.score(ref.time, ref.frequency, est)
            counts[t.dataset][i] += c
            counts["overall"][i] += c
    # RPA does not depend on the voicing threshold; any of the sweep's will do.
    return {k: [c.summary(metrics.THRESHOLDS[0])["RPA"] for c in v] for k, v in counts.items()}


def table(work_estimates: Path, keys, tracks, label) -> list[str]:
    """One row per system: its smallest capacity's weighted_argmax, which every system has."""
    chosen = {}
    for system, config in keys:
        if config.endswith("-weighted_argmax") and system not in chosen:
            chosen[system] = config
    if not chosen:
        return []
    lines = ["| system | configuration | " + " | ".join("%+g ms" % s for s in SHIFTS_MS) +
             " | datasets best unshifted | the others' best shift |",
             "|---|---|" + "---:|" * (len(SHIFTS_MS) + 1) + "---|"]
    zero = SHIFTS_MS.index(0)
    for system, config in chosen.items():
        rpa = rpa_by_shift(work_estimates, system, config, tracks)
        sets = [k for k in rpa if k != "overall"]
        # A dataset peaks at 0 when no shift scores strictly higher (flat datasets, such as a steady
        # tone, tie).
        peaks = [k for k in sets if all(rpa[k][zero] >= r for r in rpa[k])]
        others = ["%s %+g ms" % (k, SHIFTS_MS[max(range(len(SHIFTS_MS)), key=lambda i: rpa[k][i])])
                  for k in sorted(set(sets) - set(peaks))]
        lines.append("| %s | %s | %s | %d of %d | %s |" % (
            label[system], config, " | ".join("%.2f" % (100 * r) for r in rpa["overall"]), len(peaks), len(sets),
            ", ".join(others) or "—"))
    return lines
