"""The harness's report: markdown tables, a JSON of every number, and two PNG plots."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

import metrics
import time_alignment
from estimates import write_atomically
from systems import CAPACITIES

SYSTEM_LABEL = {"ours": "ours (crepe-predict)", "original": "original CREPE (TF)", "torchcrepe": "torchcrepe"}
FILE_MD = "accuracy.md"
FILE_JSON = "accuracy.json"
FILE_CAPACITY_PNG = "accuracy_rpa_vs_capacity.png"
FILE_SPEED_PNG = "accuracy_rpa_vs_speed.png"


def split(config: str) -> tuple[str, str, str]:
    """'full-viterbi+median3' -> ('full', 'viterbi', '+median3')"""
    cap, rest = config.split("-", 1)
    decoder, _, post = rest.partition("+")
    return cap, decoder, ("+" + post) if post else ""


def pct(x: float) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else "%.2f" % (100 * x)


def fps(timing) -> float | None:
    return None if not timing else timing["frames"] / timing["seconds"]


def aggregate(results: dict, tracks) -> dict:
    """{key: {"overall": Counts, dataset: Counts}}"""
    out = {}
    for key, r in results.items():
        agg = {"overall": metrics.Counts()}
        for t in tracks:
            c = r["tracks"][(t.dataset, t.name)]
            agg.setdefault(t.dataset, metrics.Counts())
            agg[t.dataset] += c
            agg["overall"] += c
        out[key] = agg
    return out


def run_line(context: dict) -> str:
    line = "- Run: %s to %s, code %s" % (context["started"], context["finished"], context["commit"])
    again = context.get("rescored")
    if again:
        line += "; this report rewritten from that run's estimates and timings at %s by `%s`, code %s" % (
            again["at"], again["command"], again["commit"])
    return line


def headline_table(keys, agg, results, threshold: float) -> list[str]:
    lines = ["| system | model | decoder | post-processing | RPA | RCA | VR | VFA | OA | best OA (threshold) | "
             "frames/s | x real time |", "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for key in keys:
        system, config = key
        cap, decoder, post = split(config)
        s = agg[key]["overall"].summary(threshold)
        thr, best = agg[key]["overall"].best_oa()
        f = fps(results[key]["timing"])
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s (%.2f) | %s | %s |" % (
            SYSTEM_LABEL[system], cap, decoder, post.lstrip("+") or "—", pct(s["RPA"]), pct(s["RCA"]), pct(s["VR"]),
            pct(s["VFA"]), pct(s["OA"]), pct(best), thr, "—" if f is None else "{:,.1f}".format(f),
            "—" if f is None else "%.1f" % (f / 100)))
    return lines


def per_dataset_table(keys, agg, datasets, metric: str, threshold: float) -> list[str]:
    lines = ["| system | configuration | " + " | ".join(datasets) + " | overall |",
             "|---|---|" + "---:|" * (len(datasets) + 1)]
    for key in keys:
        cells = [pct(agg[key][d].summary(threshold)[metric]) for d in datasets + ["overall"]]
        lines.append("| %s | %s | %s |" % (SYSTEM_LABEL[key[0]], key[1], " | ".join(cells)))
    return lines


def frame_differences(work_estimates: Path, config: str, tracks) -> dict:
    from estimates import estimate_stem

    diffs = []
    for t in tracks:
        a = metrics.read_estimate(str(estimate_stem(work_estimates, "ours", config, t)))
        b = metrics.read_estimate(str(estimate_stem(work_estimates, "original", config, t)))
        if len(a.time) != len(b.time):
            return {"frames_mismatch": "%s/%s: %d vs %d frames" % (t.dataset, t.name, len(a.time), len(b.time))}
        both = (a.frequency > 0) & (b.frequency > 0)
        diffs.append(np.abs(metrics.hz_to_cents(a.frequency[both]) - metrics.hz_to_cents(b.frequency[both])))
    d = np.concatenate(diffs) if diffs else np.zeros(0)
    return {"frames": int(d.size), "max_cents": float(d.max()) if d.size else 0.0,
            "mean_cents": float(d.mean()) if d.size else 0.0, "over_1_cent": int((d > 1).sum())}


def checks(agg, datasets, threshold) -> list[str]:
    """The two claims the evidence must support, evaluated on the numbers."""
    out = []
    gaps = []
    for (system, config) in agg:
        if system == "ours" and config.endswith("-weighted_argmax") and ("original", config) in agg:
            for d in datasets + ["overall"]:
                a = agg[(system, config)][d].summary(threshold)["RPA"]
                b = agg[("original", config)][d].summary(threshold)["RPA"]
                gaps.append((abs(a - b), config, d, a, b))
    if gaps:
        worst = max(gaps)
        out.append("- Our weighted_argmax against the original's, every capacity and dataset (%d pairs): largest RPA "
                   "gap %.3f points (%s, %s: %s vs %s)." % (len(gaps), 100 * worst[0], worst[1], worst[2],
                                                           pct(worst[3]), pct(worst[4])))
    for ours in ("viterbi", "viterbi_confidence"):
        worse = []
        compared = 0
        for (system, config) in agg:
            if system != "ours" or not config.endswith("-" + ours):
                continue
            cap = config.split("-", 1)[0]
            for peer in (("original", cap + "-viterbi"), ("torchcrepe", cap + "-viterbi")):
                if peer not in agg:
                    continue
                for d in datasets:
                    compared += 1
                    a = agg[(system, config)][d].summary(threshold)["RPA"]
                    b = agg[peer][d].summary(threshold)["RPA"]
                    if a < b:
                        worse.append("%s against %s on %s: %s vs %s" % (config, peer[0], d, pct(a), pct(b)))
        if compared:
            out.append("- Our %s against the original's and torchcrepe's viterbi, same capacity, every dataset "
                       "(%d comparisons): %s." % (ours, compared, "never lower RPA" if not worse else
                                                  "lower RPA in %d: %s" % (len(worse), "; ".join(worse))))
    return out


def plot_capacity(path: Path, agg, threshold: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    series = {}
    for (system, config) in agg:
        cap, decoder, post = split(config)
        if post:
            continue
        series.setdefault((system, decoder), []).append((CAPACITIES.index(cap), agg[(system, config)]["overall"]
                                                         .summary(threshold)["RPA"]))
    styles = {"ours": "-o", "original": "--s", "torchcrepe": ":^"}
    for (system, decoder), pts in sorted(series.items()):
        pts.sort()
        ax.plot([p[0] for p in pts], [100 * p[1] for p in pts], styles[system],
                label="%s, %s" % (SYSTEM_LABEL[system], decoder))
    ax.set_xticks(range(len(CAPACITIES)), CAPACITIES)
    ax.set_xlabel("capacity")
    ax.set_ylabel("RPA (%), all datasets, frame-weighted")
    ax.set_title("Raw pitch accuracy against capacity, per decoder")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_speed(path: Path, agg, results, threshold: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    markers = {"ours": "o", "original": "s", "torchcrepe": "^"}
    plotted = False
    for system in ("ours", "original", "torchcrepe"):
        for decoder in ("weighted_argmax", "viterbi", "viterbi_confidence"):
            pts = []
            for (s, config), r in results.items():
                cap, dec, post = split(config)
                f = fps(r["timing"])
                if s == system and dec == decoder and not post and f:
                    pts.append((f, agg[(s, config)]["overall"].summary(threshold)["RPA"], cap))
            if not pts:
                continue
            pts.sort()
            ax.plot([p[0] for p in pts], [100 * p[1] for p in pts], marker=markers[system],
                    linestyle="--" if decoder == "weighted_argmax" else "-", label="%s, %s" % (SYSTEM_LABEL[system], decoder))
            for f, rpa, cap in pts:
                ax.annotate(cap, (f, 100 * rpa), fontsize=7, textcoords="offset points", xytext=(3, 3))
            plotted = True
    ax.set_xscale("log")
    ax.set_xlabel("frames/s on this machine (log scale; 100 frames/s = real time at a 10 ms hop)")
    ax.set_ylabel("RPA (%), all datasets, frame-weighted")
    ax.set_title("Raw pitch accuracy against speed, per system")
    ax.grid(alpha=0.3, which="both")
    if plotted:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(report_dir: Path, tracks, results: dict, context: dict, work_estimates: Path | None = None,
          plots: bool = True, results_md: Path | None = None) -> None:
    """The report into report_dir; with results_md, also the headline section of that file."""
    report_dir.mkdir(parents=True, exist_ok=True)
    threshold = context["threshold"]
    agg = aggregate(results, tracks)
    datasets = sorted({t.dataset for t in tracks})
    keys = list(results)
    md = ["# Accuracy: our CREPE, the original CREPE and torchcrepe on annotated audio", "",
          "Written by `bench/accuracy/run_accuracy.py`; do not edit by hand.", "",
          "- Command: `%s`" % context["command"],
          "- Machine: %s; every system on %d CPU threads, no GPU" % (context["machine"], context["threads"]),
          run_line(context),
          "- Data: %s: %d tracks in %d datasets, %s reference rows (%s voiced)" % (
              ", ".join(context["data"]), len(tracks), len(datasets),
              "{:,}".format(agg[keys[0]]["overall"].rows), "{:,}".format(agg[keys[0]]["overall"].ref_voiced)),
          "- Metrics frame-weighted over reference rows, the estimate read at each reference time by linear "
          "interpolation in cents. RPA/RCA ignore the estimate's voicing; VR, VFA and OA use a voicing threshold "
          "of %.2f on the periodicity (ours, torchcrepe) or the confidence (the original, which has no other); "
          "'best OA' is the best over thresholds 0.05-0.95." % threshold,
          "- Speed: frames/s of each configuration on a %.0f s clip (the longest track, cut), the fastest of %d "
          "runs, reading the audio, resampling, network, decoding and post-processing; model loading excluded." %
          (context["speed_seconds"], context.get("speed_repeats", 1)), ""]
    md += ["## Overall (all datasets)", ""] + headline_table(keys, agg, results, threshold) + [""]
    check_lines = checks(agg, datasets, threshold)
    md += ["## Checks", ""] + check_lines + [""]
    for metric, title in (("RPA", "Raw pitch accuracy"), ("RCA", "Raw chroma accuracy"), ("OA", "Overall accuracy"),
                          ("VFA", "Voicing false alarm")):
        suffix = "" if metric in ("RPA", "RCA") else " at threshold %.2f" % threshold
        md += ["## %s per dataset (%%)%s" % (title, suffix), ""]
        md += per_dataset_table(keys, agg, datasets, metric, threshold) + [""]
    parity_rows = []
    if work_estimates is not None:
        for (system, config) in keys:
            if system == "ours" and "+" not in config and ("original", config) in results:
                parity_rows.append((config, frame_differences(work_estimates, config, tracks)))
    if parity_rows:
        md += ["## Ours against the original, frame by frame", "",
               "Both estimates on every track, where both give a pitch.", "",
               "| configuration | frames | max difference (cents) | mean difference (cents) | frames > 1 cent |",
               "|---|---:|---:|---:|---:|"]
        for config, d in parity_rows:
            if "frames_mismatch" in d:
                md.append("| %s | frame counts differ: %s | | | |" % (config, d["frames_mismatch"]))
            else:
                md.append("| %s | {:,} | %.4f | %.5f | %d |".format(d["frames"]) % (
                    config, d["max_cents"], d["mean_cents"], d["over_1_cent"]))
        md.append("")
    alignment = time_alignment.table(work_estimates, keys, tracks, SYSTEM_LABEL) if work_estimates else []
    if alignment:
        md += ["## Frame times", "",
               "Raw pitch accuracy (%, all datasets) with each estimate's times shifted by the given amount "
               "(positive: every estimate time moved later). A system whose frame times are right scores best "
               "unshifted; a dataset whose own reference is early or late moves every system's peak alike, so "
               "compare the rows with each other, the original CREPE being the reference.", ""] + alignment + [""]
    if plots:
        md += ["## Plots", "", "![RPA against capacity](%s)" % FILE_CAPACITY_PNG, "",
               "![RPA against speed](%s)" % FILE_SPEED_PNG, ""]
    write_atomically(report_dir / FILE_MD, "\n".join(md))

    blob = {"context": context, "datasets": datasets, "configurations": []}
    for key in keys:
        entry = {"system": key[0], "config": key[1], "timing": results[key]["timing"],
                 "overall": agg[key]["overall"].summary(threshold),
                 "best_oa": agg[key]["overall"].best_oa(),
                 "datasets": {d: agg[key][d].summary(threshold) for d in datasets},
                 "oa_by_threshold": dict(zip(metrics.THRESHOLDS, (agg[key]["overall"].oa_correct /
                                                                  max(1, agg[key]["overall"].rows)).tolist()))}
        entry["parity"] = dict(parity_rows).get(key[1]) if key[0] == "ours" else None
        blob["configurations"].append(entry)
    write_atomically(report_dir / FILE_JSON, json.dumps(blob, indent=1, default=float) + "\n")
    if plots:
        plot_capacity(report_dir / FILE_CAPACITY_PNG, agg, threshold)
        plot_speed(report_dir / FILE_SPEED_PNG, agg, results, threshold)
    if results_md is not None:
        update_results_md(results_md, summary_tables(agg, results, threshold) + [""] + check_lines, context, tracks,
                          report_dir)


# The part of bench/RESULTS.md this report owns; the rest of that file is written by hand.
HEADLINE_BEGIN = "<!-- accuracy-headline: begin (written by bench/accuracy/run_accuracy.py; do not edit) -->"
HEADLINE_END = "<!-- accuracy-headline: end -->"


def cell(agg, results, key, what: str, threshold: float) -> str:
    if key not in agg:
        return "—"
    if what == "fps":
        f = fps(results[key]["timing"])
        return "—" if f is None else "{:,.0f}".format(f)
    if what == "ratio":  # ours over this peer, same capacity and decoder
        ours = ("ours", key[1])
        f, g = fps(results[key]["timing"]), fps(results[ours]["timing"]) if ours in results else None
        return "—" if not f or not g else "%.2fx" % (g / f)
    return pct(agg[key]["overall"].summary(threshold)[what])


def summary_tables(agg, results, threshold: float) -> list[str]:
    """Two capacity-by-column tables: RPA per system and decoder, then OA and speed."""
    rpa_cols = [("ours", "weighted_argmax"), ("original", "weighted_argmax"), ("torchcrepe", "weighted_argmax"),
                ("ours", "viterbi"), ("original", "viterbi"), ("torchcrepe", "viterbi"),
                ("ours", "viterbi_confidence")]
    out = ["RPA (%), all datasets, frame-weighted:", "",
           "| capacity | " + " | ".join("%s %s" % (s, d) for s, d in rpa_cols) + " |",
           "|---|" + "---:|" * len(rpa_cols)]
    for cap in CAPACITIES:
        out.append("| %s | %s |" % (cap, " | ".join(cell(agg, results, (s, "%s-%s" % (cap, d)), "RPA", threshold)
                                                    for s, d in rpa_cols)))
    oa_cols = [(("ours", "weighted_argmax"), "OA", "ours weighted_argmax OA"),
               (("ours", "viterbi_confidence+median3"), "OA", "ours viterbi_confidence + median 3 OA"),
               (("original", "weighted_argmax"), "OA", "original weighted_argmax OA"),
               (("torchcrepe", "viterbi"), "OA", "torchcrepe viterbi OA"),
               (("ours", "weighted_argmax"), "fps", "ours frames/s"),
               (("original", "weighted_argmax"), "fps", "original frames/s"),
               (("torchcrepe", "weighted_argmax"), "fps", "torchcrepe frames/s"),
               (("original", "weighted_argmax"), "ratio", "ours / original"),
               (("torchcrepe", "weighted_argmax"), "ratio", "ours / torchcrepe")]
    out += ["", "Overall accuracy (%%) at threshold %.2f, and end-to-end speed (weighted_argmax, frames/s on this "
            "machine; 100 frames/s is real time):" % threshold, "",
            "| capacity | " + " | ".join(c[2] for c in oa_cols) + " |", "|---|" + "---:|" * len(oa_cols)]
    for cap in CAPACITIES:
        out.append("| %s | %s |" % (cap, " | ".join(cell(agg, results, (k[0], "%s-%s" % (cap, k[1])), what, threshold)
                                                    for k, what, _ in oa_cols)))
    return out


def update_results_md(path: Path, body: list[str], context: dict, tracks, report_dir: Path) -> None:
    """Replaces the marked headline section of bench/RESULTS.md (appends it the first time)."""
    datasets = sorted({t.dataset for t in tracks})
    try:
        where = report_dir.resolve().relative_to(path.resolve().parent)
    except ValueError:
        where = report_dir.resolve()
    section = [HEADLINE_BEGIN, "",
               "- Command: `%s`" % context["command"],
               "- Machine: %s; every system on %d CPU threads, no GPU" % (context["machine"], context["threads"]),
               run_line(context),
               "- Data: %s (%d tracks: %s)" % (", ".join(context["data"]), len(tracks), ", ".join(datasets)),
               "- Every table, per dataset, the post-processing variants and the plots: [%s](%s)" % (
                   where / FILE_MD, where / FILE_MD), ""] + body + ["", HEADLINE_END]
    text = path.read_text() if path.is_file() else ""
    if HEADLINE_BEGIN in text and HEADLINE_END in text:
        head, rest = text.split(HEADLINE_BEGIN, 1)
        tail = rest.split(HEADLINE_END, 1)[1]
        text = head + "\n".join(section) + tail
    else:
        text = text.rstrip("\n") + "\n\n## Accuracy on annotated audio (issue 4)\n\n" + "\n".join(section) + "\n"
    write_atomically(path, text)
