"""Accuracy evidence: every CREPE capacity and decoder of ours, the original CREPE and torchcrepe,
scored on pitch-annotated audio, with each configuration's speed on this machine.

  bench/run_accuracy.sh [--data DIR ...] [options]     (sets the environments up, then runs this)

Input: dataset folders in the layout of ../shared/eval/public (<dataset>/<track>.wav|flac|ogg with
<track>.f0.csv). Estimates and timings are kept under --work (resumable: finished tracks are not
recomputed); the report (markdown, JSON, PNG plots) goes to --report-dir.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import datasets  # noqa: E402
import metrics  # noqa: E402
import report  # noqa: E402
import systems  # noqa: E402
from estimates import estimate_stem, save_tracks, write_atomically, write_timing  # noqa: E402

ROOT = systems.ROOT


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", nargs="+", default=[str(ROOT.parent / "shared" / "eval" / "public")],
                    help="dataset folders, or folders of dataset folders (default: ../shared/eval/public)")
    ap.add_argument("--work", default=str(ROOT / "build" / "accuracy"), help="estimates and timings")
    ap.add_argument("--report-dir", default=str(ROOT / "bench" / "results"), help="where the report goes")
    ap.add_argument("--systems", default="ours,original,torchcrepe")
    ap.add_argument("--models", default=",".join(systems.CAPACITIES), help="capacities of ours and the original")
    ap.add_argument("--torchcrepe-models", default="tiny,full", help="torchcrepe ships these two")
    ap.add_argument("--soxr-models", default="tiny",
                    help="capacities also run with our soxr_vhq resampler (costs a network run each)")
    ap.add_argument("--configs", default=",".join(c.name for c in systems.OUR_CONFIGS),
                    help="our configurations (see systems.py)")
    ap.add_argument("--threshold", type=float, default=0.5, help="voicing threshold of the VR/VFA/OA columns")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads of every system")
    ap.add_argument("--speed-seconds", type=float, default=10.0,
                    help="length of the speed clip (the longest track, cut); 0 skips the speed pass")
    ap.add_argument("--speed-repeats", type=int, default=3,
                    help="timed runs of each configuration on the speed clip; the fastest is reported")
    ap.add_argument("--score-only", action="store_true", help="run nothing; score the estimates already in --work")
    ap.add_argument("--no-plots", action="store_true", help="skip the PNG plots (no matplotlib needed)")
    ap.add_argument("--results-md", default=None,
                    help="also rewrite the headline section of this file (default: bench/RESULTS.md when neither "
                         "--data nor --report-dir is given, so a run on other data never overwrites it; 'none' "
                         "to skip)")
    ap.add_argument("--crepe-predict", default=str(ROOT / "build" / "predict" / "crepe-predict"))
    ap.add_argument("--command", default=None, help="the command line to print in the report")
    args = ap.parse_args()
    if args.results_md is None:
        defaults = ap.parse_args([])
        same = args.data == defaults.data and args.report_dir == defaults.report_dir
        args.results_md = str(ROOT / "bench" / "RESULTS.md") if same else "none"
    return args


def machine_line() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = ", %.0f GiB memory" % (kb / 2**20)
    except (OSError, ValueError, IndexError):
        pass
    return "%s, %d logical CPUs%s, %s %s" % (cpu, os.cpu_count() or 0, mem, platform.system(), platform.release())


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def commit() -> str:
    """HEAD, with "-dirty" when tracked files other than this harness's own outputs (bench/results/,
    bench/RESULTS.md) differ from it."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True).stdout.strip()
        changed = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no", "--",
                                  ".", ":!bench/results", ":!bench/RESULTS.md"], capture_output=True,
                                 text=True).stdout.strip()
        return (head + ("-dirty" if changed else "")) if head else "unknown"
    except OSError:
        return "unknown"


def our_configs(args) -> list[systems.OurConfig]:
    wanted = [c for c in args.configs.split(",") if c]
    known = {c.name: c for c in systems.OUR_CONFIGS}
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise SystemExit("unknown configuration(s) %s; known: %s" % (unknown, ", ".join(known)))
    if systems.BASE.name not in wanted:
        wanted.insert(0, systems.BASE.name)  # the network run the others decode
    return [known[c] for c in wanted]


def soxr_models(args) -> list[str]:
    models = args.models.split(",")
    return [m for m in args.soxr_models.split(",") if m and m in models]


def configurations(args) -> list[tuple[str, str]]:
    """(system, config) pairs to run and score, in report order."""
    models = [m for m in args.models.split(",") if m]
    out = []
    chosen = set(args.systems.split(","))
    if "ours" in chosen:
        for cap in models:
            out += [("ours", "%s-%s" % (cap, c.name)) for c in our_configs(args)]
        out += [("ours", "%s-%s" % (cap, systems.SOXR.name)) for cap in soxr_models(args)]
    if "original" in chosen:
        out += [("original", "%s-%s" % (cap, d)) for cap in models for d in systems.PEER_DECODERS]
    if "torchcrepe" in chosen:
        out += [("torchcrepe", "%s-%s" % (cap, d)) for cap in args.torchcrepe_models.split(",") if cap
                for d in systems.PEER_DECODERS]
    return out


def run_all(args, tracks, work: Path) -> None:
    estimates = work / "estimates"
    tracks_file = work / "tracks.json"
    save_tracks(tracks, tracks_file)
    chosen = set(args.systems.split(","))
    models = [m for m in args.models.split(",") if m]
    if "ours" in chosen:
        if not Path(args.crepe_predict).is_file():
            raise SystemExit("%s not found: build the project first (tools/setup.sh)" % args.crepe_predict)
        for cap in models:
            systems.run_ours(args.crepe_predict, tracks, estimates, cap, our_configs(args), args.threads)
        for cap in soxr_models(args):
            systems.run_ours(args.crepe_predict, tracks, estimates, cap, [systems.SOXR], args.threads)
    if "original" in chosen:
        systems.run_peer("peer_original.py", ROOT / ".venv-tf" / "bin" / "python", tracks_file, estimates, models,
                         args.threads, "accuracy")
    if "torchcrepe" in chosen:
        systems.run_peer("peer_torchcrepe.py", ROOT / ".venv-peers" / "bin" / "python", tracks_file, estimates,
                         args.torchcrepe_models.split(","), args.threads, "accuracy")


def run_speed(args, tracks, work: Path) -> None:
    speed = work / "speed"
    clip = systems.make_speed_clip(tracks, args.speed_seconds, speed / "clip.wav")
    chosen = set(args.systems.split(","))
    models = [m for m in args.models.split(",") if m]
    systems.log("speed pass on %s" % clip.audio)
    if "ours" in chosen:
        for cap in models:
            cfgs = our_configs(args) + ([systems.SOXR] if cap in soxr_models(args) else [])
            for cfg in cfgs:
                rec = systems.time_ours(args.crepe_predict, clip.audio, cap, cfg, speed / "ours-out", args.threads,
                                       args.speed_repeats)
                write_timing(speed / ("ours-%s.json" % rec["config"]), rec)
                systems.log("ours %s: %.1f frames/s" % (rec["config"], rec["frames"] / rec["seconds"]))
    if "original" in chosen:
        systems.run_peer("peer_original.py", ROOT / ".venv-tf" / "bin" / "python", speed / "clip.json", speed,
                         models, args.threads, "speed", args.speed_repeats)
    if "torchcrepe" in chosen:
        systems.run_peer("peer_torchcrepe.py", ROOT / ".venv-peers" / "bin" / "python", speed / "clip.json", speed,
                         args.torchcrepe_models.split(","), args.threads, "speed", args.speed_repeats)


def score_all(args, tracks, work: Path) -> dict:
    refs = {(t.dataset, t.name): datasets.read_reference(t.reference) for t in tracks}
    results = {}
    for system, config in configurations(args):
        per_track = {}
        missing = 0
        for t in tracks:
            stem = str(estimate_stem(work / "estimates", system, config, t))
            if not Path(stem + ".f0.csv").is_file():
                missing += 1
                continue
            ref = refs[(t.dataset, t.name)]
            per_track[(t.dataset, t.name)] = metrics.score(ref.time, ref.frequency, metrics.read_estimate(stem))
        if missing:
            systems.log("warning: %s %s: %d of %d tracks have no estimate; not scored" % (system, config, missing,
                                                                                        len(tracks)))
            continue
        timing_file = work / "speed" / ("%s-%s.json" % (system, config))
        timing = json.loads(timing_file.read_text()) if timing_file.is_file() else None
        results[(system, config)] = {"tracks": per_track, "timing": timing}
    return results


def main() -> int:
    args = parse_args()
    metrics.threshold_index(args.threshold)  # fails early on a threshold not in the sweep
    work = Path(args.work)
    try:
        tracks = datasets.discover(args.data)
        for t in tracks:
            datasets.read_reference(t.reference)
    except datasets.DatasetError as e:
        raise SystemExit("error: %s" % e)
    systems.log("%d tracks in %d datasets" % (len(tracks), len(systems.by_dataset(tracks))))
    started = now()
    if not args.score_only:
        run_all(args, tracks, work)
        if args.speed_seconds > 0:
            run_speed(args, tracks, work)
    results = score_all(args, tracks, work)
    if not results:
        raise SystemExit("nothing to score")
    command = args.command or " ".join(sys.argv)
    run_file = work / "run.json"  # what the last run that computed anything was: its command, times, code
    if args.score_only and run_file.is_file():
        context = json.loads(run_file.read_text())
        context["rescored"] = {"command": command, "at": now(), "commit": commit()}
    else:
        context = {
            "command": command,
            "machine": machine_line(),
            "started": started,
            "finished": now(),
            "commit": commit(),
            "threads": args.threads,
            "data": args.data,
            "speed_seconds": args.speed_seconds,
            "speed_repeats": args.speed_repeats,
        }
        if not args.score_only:
            write_atomically(run_file, json.dumps(context, indent=1) + "\n")
    context["threshold"] = args.threshold  # a scoring choice, free to differ from the run's
    results_md = None if args.results_md == "none" else Path(args.results_md)
    report.write(Path(args.report_dir), tracks, results, context, work / "estimates", plots=not args.no_plots,
                 results_md=results_md)
    systems.log("report written to %s%s" % (args.report_dir, "" if results_md is None else
                                            "; headline section of %s updated" % results_md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
