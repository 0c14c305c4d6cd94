#!/usr/bin/env python3
"""Accuracy of each forward-pass precision: crepe-predict --precision P (weighted_argmax, the
original's default decoder) on pitch-annotated audio, scored exactly as bench/accuracy scores it
(RPA, RCA, OA at a voicing threshold, frame-weighted over every dataset), with fp32 computed in the
same run as the reference. A precision is a candidate for a GPU recommendation only if its RPA is
within 0.05 points of fp32 on every capacity; this prints that verdict.

    .venv/bin/python bench/gpu/precision_accuracy.py [--models tiny,small] [--precisions fp32,bf16]
        [--device cpu] [--data DIR ...] [--work build/precision-accuracy]

Estimates are kept in --work (a rerun resumes); the table goes to stdout and --work/table.md.
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench" / "accuracy"))
import datasets  # noqa: E402
import metrics  # noqa: E402
from estimates import estimate_done, estimate_stem  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", nargs="+", default=[str(ROOT.parent / "shared" / "eval" / "public")])
    ap.add_argument("--models", default="tiny,small,medium,large,full")
    ap.add_argument("--precisions", default="fp32,bf16")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--threads", type=int, default=0, help="OMP_NUM_THREADS for crepe-predict (0: its default)")
    ap.add_argument("--work", default=str(ROOT / "build" / "precision-accuracy"))
    ap.add_argument("--crepe-predict", default=str(ROOT / "build" / "predict" / "crepe-predict"))
    ap.add_argument("--fp32-from", default="",
                    help="bench/results/accuracy.json: take fp32 (our weighted_argmax) from that report for the "
                         "capacities in --recorded-fp32 instead of running it again (fp32 takes 2x bf16's time)")
    ap.add_argument("--recorded-fp32", default="", help="capacities whose fp32 comes from --fp32-from")
    a = ap.parse_args()
    precisions = a.precisions.split(",")
    if "fp32" not in precisions:
        precisions.insert(0, "fp32")  # the reference
    tracks = datasets.discover(a.data)
    work = Path(a.work)
    estimates = work / "estimates"
    env = ["env"] + (["OMP_NUM_THREADS=%d" % a.threads] if a.threads else [])
    results = {}
    recorded = {}
    if a.fp32_from:
        report = json.loads(Path(a.fp32_from).read_text())
        for c in report["configurations"]:
            if c["system"] == "ours" and c["config"].endswith("-weighted_argmax"):
                recorded[c["config"].split("-")[0]] = (c["overall"], report["context"]["commit"])
    notes = []
    for cap in a.models.split(","):
        for precision in precisions:
            if precision == "fp32" and cap in a.recorded_fp32.split(",") and cap in recorded:
                s, commit = recorded[cap]
                results[(cap, precision)] = s
                notes.append("%s fp32: from %s (commit %s)" % (cap, a.fp32_from, commit))
                print("%s fp32: RPA %.3f %% (recorded)" % (cap, 100 * s["RPA"]), flush=True)
                continue
            config = "%s-%s-%s" % (cap, precision, a.device.replace(":", ""))
            start = time.perf_counter()
            groups = {}
            for t in tracks:
                groups.setdefault(t.dataset, []).append(t)
            for dataset, group in groups.items():
                stems = [estimate_stem(estimates, "ours", config, t) for t in group]
                if all(estimate_done(s) for s in stems):
                    continue
                cmd = env + [a.crepe_predict, "-q", "-m", cap, "--precision", precision, "--device", a.device,
                             "--periodicity", "-o", str(stems[0].parent)] + [t.audio for t in group]
                p = subprocess.run(cmd, capture_output=True, text=True)
                if p.returncode != 0:
                    sys.exit("crepe-predict failed (exit %d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr))
            total = metrics.Counts()
            for t in tracks:
                ref = datasets.read_reference(t.reference)
                total += metrics.score(ref.time, ref.frequency,
                                       metrics.read_estimate(str(estimate_stem(estimates, "ours", config, t))))
            s = total.summary(a.threshold)
            results[(cap, precision)] = s
            print("%s %s: RPA %.3f %%, OA %.3f %% (%d voiced rows; %.0f s)" %
                  (cap, precision, 100 * s["RPA"], 100 * s["OA"], s["voiced_rows"], time.perf_counter() - start),
                  flush=True)
    lines = ["| capacity | precision | RPA | RPA - fp32 (points) | RCA | OA (threshold %.2f) | within 0.05 points |"
             % a.threshold, "|---|---|---|---|---|---|---|"]
    verdict = {p: True for p in precisions if p != "fp32"}
    for (cap, precision), s in results.items():
        ref = results[(cap, "fp32")]["RPA"]
        delta = 100 * (s["RPA"] - ref)
        ok = abs(delta) <= 0.05
        if precision != "fp32":
            verdict[precision] = verdict[precision] and ok
        lines.append("| %s | %s | %.3f %% | %s | %.3f %% | %.3f %% | %s |" % (
            cap, precision, 100 * s["RPA"], "—" if precision == "fp32" else "%+.3f" % delta, 100 * s["RCA"],
            100 * s["OA"], "—" if precision == "fp32" else ("yes" if ok else "no")))
    lines.append("")
    lines += ["- " + n for n in notes]
    for p, ok in verdict.items():
        lines.append("- %s on %s: RPA within 0.05 points of fp32 on every capacity measured (%s): %s" %
                     (p, a.device, a.models, "yes" if ok else "no"))
    text = "\n".join(lines)
    print(text)
    work.mkdir(parents=True, exist_ok=True)
    (work / "table.md").write_text(text + "\n")
    (work / "results.json").write_text(json.dumps({"%s-%s" % k: v for k, v in results.items()}, indent=1))


if __name__ == "__main__":
    main()
