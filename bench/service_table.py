#!/usr/bin/env python3
"""Markdown report of bench/run_service_bench.sh: reads OUT_DIR/machine.txt and the
loadgen-<model>.json records crepe-loadgen wrote, prints the machine, the command and one table.

    python3 bench/service_table.py OUT_DIR

Standard library only.
"""
import json
import math
import sys
from pathlib import Path


def fmt(v, spec, dash="—"):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return dash
    return format(v, spec)


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "build/service-bench")
    machine = {}
    for line in (out / "machine.txt").read_text().splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            machine[k] = v
    records = [json.loads(p.read_text()) for p in sorted(out.glob("loadgen-*.json"))]
    order = {"tiny": 0, "small": 1, "medium": 2, "large": 3, "full": 4}
    records.sort(key=lambda r: order.get(r["model"], 9))
    if not records:
        sys.exit(f"service_table.py: no loadgen-*.json in {out}")
    r0 = records[0]

    print("#### Machine and command\n")
    print(f"- Date (UTC): {machine.get('start', '?')} to {machine.get('end', '?')}")
    print(f"- CPU: {machine.get('lscpu_model', '?')}, {machine.get('lscpu_cpus', '?')} logical CPUs "
          f"({machine.get('lscpu_threads_per_core', '?')} thread(s) per core), hypervisor: "
          f"{machine.get('lscpu_hypervisor') or 'none'}; memory {machine.get('memory', '?')}; "
          f"kernel {machine.get('kernel', '?')}; GPU: {machine.get('gpu', '?')}")
    print(f"- Command: `{machine.get('command', '?')}`")
    print(f"  (all settings: `{machine.get('effective', '?')}`)")
    print(f"- Server: `{machine.get('server_command', '?')}`; exit status after SIGTERM: "
          f"{machine.get('server_exit', '?')}")
    print(f"- torch intra-op threads {r0['torch_threads']} in crepe-loadgen's in-process run "
          f"(OMP_NUM_THREADS={machine.get('omp_num_threads', '?')}, the same for the server); "
          f"server batch {r0['server_max_batch']} frames, in-process Predictor batch "
          f"{(r0.get('in_process') or {}).get('batch_frames', '?')}")
    print(f"- Audio: {r0['audio']} ({r0['audio_seconds']:.2f} s at {r0['sample_rate']} Hz, "
          f"{r0['frames_per_clip']} frames at 10 ms); Predict sends the {r0['unary_audio']} file, "
          f"StreamPredict {r0['pcm']} PCM in {r0['chunk_ms']:g} ms messages ({r0['stream_chunks']} per call); "
          f"decoder {r0['decoder']}")
    rule = r0["rule"]
    durations = ", ".join("%s %g s" % (r["model"], r["rule"]["duration_s"]) for r in records)
    caps = ", ".join("%s %g s" % (r["model"], r["rule"]["max_window_s"]) for r in records)
    print(f"- Rule per point: warm-up >= {rule['warmup_s']:g} s and until each of the C slots finished a "
          f"call (at most {rule['max_warmup_s']:g} s); then a window of >= the per-model duration "
          f"({durations}) in which >= "
          f"{rule['requests_per_worker']:g} x C calls finish (capped at "
          f"{caps}); "
          "calls still running are then cancelled and the server's queue drains before the next point")
    print(f"- Machine busy before each model's run (other processes; the idle server included): "
          f"{machine.get('busy_before', '?')} %")
    print()

    print("| model | mode | C | calls | errors | p50 latency s | p99 latency s | first frames p50 s | "
          "served frames/s | received frames/s | x real time | service / in-process | mean batch | "
          "server CPU | others' CPU |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    by_mode = {}
    for r in records:
        m = r["model"]
        ip = r.get("in_process")
        ip_after = r.get("in_process_after")
        fps_to_xrt = r["audio_seconds"] / r["frames_per_clip"] if r["frames_per_clip"] else float("nan")
        # The reference: the in-process rate before the sweep, or the mean of before and after.
        ref = None
        if ip:
            ref = ip["fps"] if not ip_after else (ip["fps"] + ip_after["fps"]) / 2
        for label, rec in (("in-process" if not ip_after else "in-process, before", ip),
                           ("in-process, after", ip_after)):
            if not rec:
                continue
            others = rec.get("machine_cores", float("nan")) - rec["cpu_cores"]
            print(f"| {m} | {label} | 1 | {rec['calls']} | 0 | {fmt(rec['median_s'], '.3f')} | "
                  f"{fmt(rec['worst_s'], '.3f')} | — | {fmt(rec['fps'], ',.1f')} | {fmt(rec['fps'], ',.1f')} | "
                  f"{fmt(rec['xrt'], '.2f')} | {fmt(rec['fps'] / ref, '.3f')} | {rec['batch_frames']} | — | "
                  f"{fmt(max(others, 0.0), '.2f')} |")
        for p in r["points"]:
            p["ratio"] = p["served_fps"] / ref if ref else None
            others = None
            if p.get("server_cores") is not None and p["server_cores"] >= 0:
                others = max(p["machine_cores"] - p["server_cores"] - p["client_cores"], 0.0)
            print(f"| {m} | {p['mode']} | {p['concurrency']} | {p['completed']} | {p['errors']} | "
                  f"{fmt(p['p50_s'], '.3f')} | {fmt(p['p99_s'], '.3f')} | {fmt(p['first_frames_p50_s'], '.3f')} | "
                  f"{fmt(p['served_fps'], ',.1f')} | {fmt(p['received_fps'], ',.1f')} | "
                  f"{fmt(p['served_fps'] * fps_to_xrt, '.2f')} | {fmt(p['ratio'], '.3f')} | "
                  f"{fmt(p['mean_batch'], '.0f')} | {fmt(p['server_cores'], '.2f')} | {fmt(others, '.2f')} |")
            if p.get("ratio") is not None:
                by_mode.setdefault((m, p["mode"]), []).append(p)
    print()
    print("calls: calls that finished inside the measured window (their latencies give p50/p99; p99 is "
          "nearest-rank, so with < 100 calls it is the slowest). served frames/s: the model batcher's "
          "frames_processed (ListModels, polled every 25 ms) between the first and the last batch that "
          "finished in the window; received frames/s: frames the client received "
          "in the window (whole clips for Predict, so quantised there). x real time and service / in-process "
          "use served frames/s; service / in-process divides by the in-process rate (the mean of the "
          "measurements before and after the sweep where both were taken; each is the total of >= 3 "
          "Predictor calls over their total time, the latency columns giving its median and slowest call). server CPU: crepe-server's cores busy in the window (of "
          f"{machine.get('lscpu_cpus', '?')}); others' CPU: the rest of the machine less server and "
          "load generator (in-process row: less crepe-loadgen).")
    print()
    for (m, mode), ps in by_mode.items():
        # Saturation: the network is never idle once two calls are in flight (one being resampled
        # or answered while the other's frames run); C = 1 shows the gaps between calls.
        sat = [p for p in ps if p["concurrency"] >= 2] or ps
        lo = min(sat, key=lambda p: p["ratio"])
        hi = max(sat, key=lambda p: p["ratio"])
        top = max(ps, key=lambda p: p["concurrency"])
        verdict = "at or above 0.90 at every such point" if lo["ratio"] >= 0.9 else "BELOW 0.90 at some"
        c1 = [p for p in ps if p["concurrency"] == 1]
        c1_text = f"; C = 1: {c1[0]['ratio']:.3f}" if c1 and sat is not ps else ""
        print(f"- {m} {mode}: service / in-process {lo['ratio']:.3f} to {hi['ratio']:.3f} over C >= 2 "
              f"({lo['served_fps']:,.1f} to {hi['served_fps']:,.1f} frames/s; {top['ratio']:.3f} at C = "
              f"{top['concurrency']}){c1_text} - {verdict}")
    busy = [p.get("busy_before_pct") for r in records for p in r["points"]]
    busy += [(r.get(k) or {}).get("busy_before_pct") for r in records for k in ("in_process", "in_process_after")]
    busy = [b for b in busy if b is not None]
    redone = [f"{r['model']} {p['mode']} C={p['concurrency']} ({p['attempts']}x)" for r in records
              for p in r["points"] if p.get("attempts", 1) > 1]
    for key, label in (("in_process", "in-process before"), ("in_process_after", "in-process after")):
        redone += [f"{r['model']} {label} ({r[key]['attempts']}x)" for r in records
                   if r.get(key) and r[key].get("attempts", 1) > 1]
    print(f"- Measurements taken again because other processes used more than the limit "
          f"({machine.get('quiet_rule', '?')}): {', '.join(redone) if redone else 'none'}")
    if busy:
        print(f"- Machine busy in the second before each measurement (the idle server included): "
              f"at most {max(busy):.0f} % (median {sorted(busy)[len(busy) // 2]:.0f} %)")
    for r in records:
        diffs = [p["max_f0_diff_hz"] for p in r["points"] if p.get("max_f0_diff_hz") is not None]
        errors = sum(p["errors"] for p in r["points"])
        mism = sum(p["frame_mismatches"] for p in r["points"])
        print(f"- {r['model']}: {errors} failed calls, {mism} frame-count mismatches; largest |f0(service) - "
              f"f0(in-process)| over every finished call: {fmt(max(diffs) if diffs else None, '.3g', 'not compared')} Hz")


if __name__ == "__main__":
    main()
