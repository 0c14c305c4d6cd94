#!/usr/bin/env python3
"""The final table of bench/gpu/run.sh: reads OUT_DIR/machine.txt and OUT_DIR/records.jsonl
(crepe-gpu-bench, eager_baseline.py, crepe-loadgen) and prints markdown: the machine, the tests,
parity, throughput against the eager-PyTorch baseline, end to end, Viterbi, memory, concurrency,
the service, and the issue's targets. Standard library only.

    python3 bench/gpu/table.py OUT_DIR
"""
import json
import math
import sys
from pathlib import Path

ORDER = {"tiny": 0, "small": 1, "medium": 2, "large": 3, "full": 4}


def num(v, spec=",.0f", missing="—"):
    return missing if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, spec)


def ratio(a, b):
    return a / b if a and b else None


def main():
    out = Path(sys.argv[1])
    machine = dict(line.split("=", 1) for line in (out / "machine.txt").read_text().splitlines() if "=" in line)
    records = []
    for line in (out / "records.jsonl").read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            print(f"(unreadable record skipped: {line[:120]})")
    by = lambda s: [r for r in records if r.get("section") == s]
    print(f"### bench/gpu/run.sh on {machine.get('gpu') or machine.get('device')} ({machine.get('date')})\n")
    print(f"- commit {machine.get('commit')}; device `{machine.get('device')}`; CPU {machine.get('cpu')}; "
          f"{next((l for l in (out / 'machine.txt').read_text().splitlines() if l.startswith('torch=')), '')}")
    for t in by("gpu_tests"):
        print(f"- gpu-labelled tests: {t['passed']} passed, {t['skipped']} skipped, {t['failed']} failed")

    eager = {(r["capacity"], r["precision"], r["pass"]): r["fps"] for r in by("eager")}
    best_eager = {}
    for (c, p, _), fps in eager.items():
        best_eager[(c, p)] = max(best_eager.get((c, p), 0), fps)

    rows = sorted(by("parity"), key=lambda r: (ORDER[r["capacity"]], r["precision"]))
    if rows:
        print("\n#### Parity and precision: against the CPU's fp32 on the same weights and frames\n")
        print("| capacity | weights | precision | activations max | mean | rel. L2 | same argmax bin | mean abs cents (confident) | fp32 rule |")
        print("|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            verdict = ("PASS" if r["pass"] else "FAIL") if r["precision"] == "fp32" else ""
            print(f"| {r['capacity']} | {r['weights']} | {r['precision']} | {num(r['act_max'], '.2e', 'NaN')} | "
                  f"{num(r['act_mean'], '.2e', 'NaN')} | {num(r['act_rel_l2'], '.2e', 'NaN')} | {100 * r['same_bin']:.2f} % | "
                  f"{num(r['mean_abs_cents'], '.3f', 'NaN')} | {verdict} |")

    thr = by("throughput")
    net = {}
    default = lambda r: (r["graphs"] or r["device"] == "cpu") and r.get("default_layout", True)
    for r in thr:
        if default(r):
            net[(r["capacity"], r["precision"], r["pass"])] = r["fps"]
    if thr:
        print("\n#### Network only (frames already on the device), frames/s, against eager PyTorch at the same batch\n")
        print("| capacity | precision | pass | layout | ours | eager PyTorch | ours / eager |")
        print("|---|---|---|---|---|---|---|")
        for r in sorted(thr, key=lambda r: (ORDER[r["capacity"]], r["precision"], r["pass"], not r["graphs"])):
            if not default(r):
                continue
            e = eager.get((r["capacity"], r["precision"], r["pass"]))
            print(f"| {r['capacity']} | {r['precision']} | {r['pass']} | {r['layout']} | {num(r['fps'])} | {num(e)} | "
                  f"{num(ratio(r['fps'], e), '.2f')} |")
        other = [r for r in thr if r["graphs"] and not r.get("default_layout", True)]
        if other:
            print("\n| capacity | precision | pass | default layout | frames/s | other layout | frames/s | default / other |")
            print("|---|---|---|---|---|---|---|---|")
            for r in sorted(other, key=lambda r: (ORDER[r["capacity"]], r["precision"])):
                d = next((x for x in thr if default(x) and (x["capacity"], x["precision"], x["pass"]) ==
                          (r["capacity"], r["precision"], r["pass"])), {})
                print(f"| {r['capacity']} | {r['precision']} | {r['pass']} | {d.get('layout', '—')} | {num(d.get('fps'))} | "
                      f"{r['layout']} | {num(r['fps'])} | {num(ratio(d.get('fps'), r['fps']), '.2f')} |")
        off = [r for r in thr if not r["graphs"] and r["device"] != "cpu"]
        if off:
            print("\n| capacity | precision | pass | CUDA graphs on | off | on / off |")
            print("|---|---|---|---|---|---|")
            for r in sorted(off, key=lambda r: (ORDER[r["capacity"]], r["precision"])):
                on = net.get((r["capacity"], r["precision"], r["pass"]))
                print(f"| {r['capacity']} | {r['precision']} | {r['pass']} | {num(on)} | {num(r['fps'])} | "
                      f"{num(ratio(on, r['fps']), '.2f')} |")

    e2e = by("e2e")
    if e2e:
        print("\n#### End to end: clips uploaded, cut, run and decoded on the device, results back\n")
        print("| capacity | precision | decoder | pass | frames/s | network only, same pass | e2e / network | e2e / best eager |")
        print("|---|---|---|---|---|---|---|---|")
        for r in sorted(e2e, key=lambda r: (ORDER[r["capacity"]], r["precision"], r["decoder"])):
            n = net.get((r["capacity"], r["precision"], r["pass"]))
            print(f"| {r['capacity']} | {r['precision']} | {r['decoder']} | {r['pass']} | {num(r['fps'])} | {num(n)} | "
                  f"{num(ratio(r['fps'], n), '.2f')} | {num(ratio(r['fps'], best_eager.get((r['capacity'], r['precision']))), '.2f')} |")

    for r in by("viterbi"):
        print(f"\n- Viterbi, {r['batch']} sequences x {r['steps']} frames x 360 states: device "
              f"{r['device_state_steps_per_s']:.3g} state-steps/s, CPU decoder (one thread) {r['cpu_state_steps_per_s']:.3g} "
              f"({r['device_state_steps_per_s'] / r['cpu_state_steps_per_s']:.1f}x); paths equal: {r['paths_equal']}")
        if "streamed_state_steps_per_s" in r:
            print(f"- Viterbi streamed as crepe-server decodes ({r['batch']} calls, {r['streamed_part']} frames each per "
                  f"batch): device {r['streamed_state_steps_per_s']:.3g} state-steps/s "
                  f"({r['streamed_state_steps_per_s'] / r['cpu_state_steps_per_s']:.1f}x the CPU decoder); "
                  f"paths equal: {r['streamed_paths_equal']}")
    for r in by("memory"):
        print(f"- Memory, {r['models']} models resident (fp32): weights {r['weights_bytes'] / 2**20:.1f} MiB; "
              f"allocator {r['allocated_bytes'] / 2**20:.1f} MiB allocated, {r['reserved_bytes'] / 2**20:.1f} MiB reserved")
    for r in by("concurrency"):
        print(f"- Concurrency: {r['models']} models from {r['models']} threads did {r['serial_s']:.2f} s of "
              f"one-at-a-time work in {r['wall_s']:.2f} s (overlap {r['overlap']:.2f}x)")

    service = by("service")
    if service:
        print("\n#### crepe-server on the device under crepe-loadgen (unary), against the core in process\n")
        print("| model | decoder | Viterbi on | in-process frames/s | best served frames/s | at concurrency | served / in-process | errors |")
        print("|---|---|---|---|---|---|---|---|")
        for r in sorted(service, key=lambda r: (ORDER.get(r["model"], 9), r.get("decoder", ""), r.get("viterbi_decoding", ""))):
            inp = (r.get("in_process") or {}).get("fps")
            pts = [p for p in r.get("points", []) if p.get("served_fps")]
            best = max(pts, key=lambda p: p["served_fps"]) if pts else {}
            errors = sum(p.get("errors", 0) for p in r.get("points", []))
            print(f"| {r['model']} | {r.get('decoder', '—')} | {r.get('viterbi_decoding', '—')} | {num(inp)} | "
                  f"{num(best.get('served_fps'))} | {best.get('concurrency', '—')} | "
                  f"{num(ratio(best.get('served_fps'), inp), '.2f')} | {errors} |")

    def best_net(c, precisions):
        vals = [(v, p) for (cc, p, _), v in net.items() if cc == c and p in precisions and v]
        return max(vals) if vals else (None, None)

    print("\n#### The issue's targets (H200)\n")
    print("| target | measured | vs eager | met |")
    print("|---|---|---|---|")

    def target(name, value, goal, eager_value=None):
        met = "—" if value is None else ("yes" if value >= goal else "no")
        print(f"| {name} | {num(value)} | {num(ratio(value, eager_value), '.2f')} | {met} |")

    v, p = best_net("full", ["fp32"])
    target("full fp32 >= 10,000 frames/s", v, 1e4, best_eager.get(("full", "fp32")))
    v, p = best_net("full", ["bf16", "fp16"])
    target(f"full bf16/fp16 >= 100,000 frames/s ({p or '—'})", v, 1e5, best_eager.get(("full", p)))
    v, p = best_net("tiny", ["fp32", "tf32", "bf16", "fp16"])
    target(f"tiny network only >= 1,000,000 frames/s ({p or '—'})", v, 1e6, best_eager.get(("tiny", p)))
    tiny_e2e = [r for r in e2e if r["capacity"] == "tiny" and r["decoder"] == "viterbi"]
    for r in tiny_e2e:
        n = net.get(("tiny", r["precision"], r["pass"]))
        share = ratio(r["fps"], n)
        print(f"| tiny end to end with device Viterbi >= 50 % of network only ({r['precision']}) | "
              f"{num(None if share is None else 100 * share, '.0f')} % | — | "
              f"{'—' if share is None else ('yes' if share >= 0.5 else 'no')} |")
    for r in by("viterbi"):
        target("Viterbi >= 100 M state-steps/s batched", r["device_state_steps_per_s"], 1e8)
    for r in service:
        inp = (r.get("in_process") or {}).get("fps")
        best = max((p.get("served_fps") or 0 for p in r.get("points", [])), default=0)
        share = ratio(best, inp)
        print(f"| service >= 90 % of in-process at saturation ({r['model']}, {r.get('decoder', '—')}, "
              f"Viterbi on {r.get('viterbi_decoding', '—')}) | "
              f"{num(None if share is None else 100 * share, '.0f')} % | — | "
              f"{'—' if share is None else ('yes' if share >= 0.9 else 'no')} |")
    if machine.get("device") == "cpu":
        print("\n(CPU smoke run: the targets are for the H200 and are not expected to be met here.)")


if __name__ == "__main__":
    main()
