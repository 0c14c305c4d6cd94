#!/usr/bin/env python3
"""Reads the JSON records bench/run_bench.sh collected in OUT_DIR and prints the markdown report.

Standard library only. Usage: make_table.py OUT_DIR
"""

import glob
import json
import os
import sys

CAPACITIES = ['tiny', 'small', 'medium', 'large', 'full']


def load(path):
    with open(path) as f:
        return json.load(f)


def fmt(v, digits=1):
    return '—' if v is None else f'{v:,.{digits}f}'


def main():
    out = sys.argv[1]
    machine = {}
    with open(os.path.join(out, 'machine.txt')) as f:
        for line in f:
            key, _, value = line.rstrip('\n').partition('=')
            machine[key] = value
    probes = [load(os.path.join(out, f'probe-{w}.json'))['cpu'] for w in ('start', 'end')
              if os.path.exists(os.path.join(out, f'probe-{w}.json'))]
    ours, theirs = {}, {}
    ours_meta = theirs_meta = None
    for path in sorted(glob.glob(os.path.join(out, 'ours-*.json'))):
        rec = load(path)
        ours_meta = rec
        for r in rec['results']:
            ours[(r['capacity'], r['device'], r['kind'], r.get('decoder'))] = r
    for path in sorted(glob.glob(os.path.join(out, 'torchcrepe-*.json'))):
        rec = load(path)
        theirs_meta = rec
        for r in rec['results']:
            theirs[(r['capacity'], r['device'], r['kind'], r.get('decoder'))] = r

    print('## Machine\n')
    print(f"- Date (UTC): {machine.get('start')} to {machine.get('end')}")
    print(f"- CPU: {machine.get('lscpu_model')}, {machine.get('lscpu_cpus')} logical CPUs "
          f"({machine.get('lscpu_threads_per_core')} thread(s) per core as the guest sees it), "
          f"hypervisor: {machine.get('lscpu_hypervisor') or 'none'}, AVX-512F: {machine.get('lscpu_flags_avx512f')}; "
          f"memory {machine.get('memory')}; kernel {machine.get('kernel')}; GPU: {machine.get('gpu')}")
    for label, p in zip(('start', 'end'), probes):
        print(f"- CPU probe at the {label}: /proc/cpuinfo says {p['nominal_mhz']:.0f} MHz (the TSC rate in a VM, "
              f"not the clock); measured core clock {p['clock_ghz']:.2f} GHz (dependent register adds, "
              f"{p['threads']} threads at once); register-only {p['isa']} FMA loop {p['fma_gflops_1']:.1f} GFLOP/s "
              f"on 1 thread (= {p['fma_gflops_1'] / p['flops_per_cycle_assumed']:.2f} GHz x "
              f"{p['flops_per_cycle_assumed']} FLOP/cycle), {p['fma_gflops_n']:.1f} GFLOP/s on {p['threads']}")
    peak = None
    if probes:
        p = probes[0]
        peak = p['peak_gflops']
        print(f"- Theoretical fp32 peak: {p['threads']} cores x {p['clock_ghz']:.2f} GHz x "
              f"{p['flops_per_cycle_assumed']} FLOP/cycle (assumed: 2 FMA units x 16 floats x 2 FLOPs) = "
              f"{peak:.0f} GFLOP/s; the FMA loop's {p['fma_gflops_n']:.0f} GFLOP/s is what is reachable "
              f"under AVX-512 load")
    if ours_meta:
        print(f"- Ours: LibTorch {ours_meta['torch_version']}, torch intra-op threads {ours_meta['torch_threads']} "
              f"(OMP_NUM_THREADS={ours_meta['omp_num_threads_env']})")
    if theirs_meta:
        print(f"- torchcrepe {theirs_meta['torchcrepe_version']} on torch {theirs_meta['torch_version']}, "
              f"threads {theirs_meta['torch_threads']} (OMP_NUM_THREADS={theirs_meta['omp_num_threads_env']})")
    meta = ours_meta or theirs_meta
    if meta:
        e2e = next((r for r in ours.values() if r['kind'] == 'e2e' and not r.get('skipped')), None)
        net = next((r for r in ours.values() if r['kind'] == 'network' and not r.get('skipped')), None)
        print(f"- Audio: {os.path.relpath(meta['audio'])} tiled x{meta['repeat']} = {meta['audio_seconds']:.2f} s"
              + (f" ({e2e['frames']} frames at a 10 ms hop)" if e2e else '')
              + (f"; network-only: {net['frames']} normalised frames of it per call" if net else '')
              + f"; batch {meta['batch']}; decoders limited to {meta['fmin_hz']:g}-{meta['fmax_hz']:g} Hz "
              "(torchcrepe.predict's defaults) on both sides")
        rule = meta['rule']
        print(f"- Rule: 1 untimed warm-up call, then >= {rule['min_iterations']} timed calls and >= "
              f"{rule['min_seconds']:g} s; median call reported (steady_clock / perf_counter)")
    print(f"- Command: `{machine.get('command')}`\n")

    print('## Throughput\n')
    print('| capacity | GFLOP/frame | decoder | ours frames/s | torchcrepe frames/s | ours / torchcrepe '
          '| ours GFLOP/s | torchcrepe GFLOP/s | peak GFLOP/s | ours x real time | torchcrepe x real time |')
    print('|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|')
    keys = sorted(set(ours) | set(theirs),
                  key=lambda k: (k[1], CAPACITIES.index(k[0]), k[2] != 'network', k[3] or ''))
    for key in keys:
        capacity, device, kind, decoder = key
        a, b = ours.get(key), theirs.get(key)
        if (a and a.get('skipped')) or (b and b.get('skipped')):
            print(f"| {capacity} ({device}) | | {decoder or 'network only'} | not measured: "
                  f"{(a or b)['note']} | | | | | | | |")
            continue
        ref = a or b
        ratio = a['fps_median'] / b['fps_median'] if a and b else None
        label = 'network only' if kind == 'network' else decoder
        dev = '' if device == 'cpu' else f' ({device})'
        print(f"| {capacity}{dev} | {ref['gflop_per_frame']:.4f} | {label} "
              f"| {fmt(a and a['fps_median'])} | {fmt(b and b['fps_median'])} | {fmt(ratio, 2)} "
              f"| {fmt(a and a['gflops_median'])} | {fmt(b and b['gflops_median'])} "
              f"| {fmt(peak if device == 'cpu' else None, 0)} "
              f"| {fmt(a and a.get('xrt_median'))} | {fmt(b and b.get('xrt_median'))} |")
    print('\nframes/s: median call. GFLOP/s = frames/s x the analytic GFLOP per frame (useful frames only; '
          'e2e GFLOP/s includes resampling and decoding time). torchcrepe has only tiny and full.\n')

    steps = os.path.join(out, 'steps.tsv')
    if os.path.exists(steps):
        print('## Machine load per step\n')
        print('| step | machine busy before (%) | wall s | own CPU s | other processes during (% of machine) |')
        print('|---|---:|---:|---:|---:|')
        with open(steps) as f:
            for line in f:
                name, before, wall, own, other = line.rstrip('\n').split('\t')
                print(f'| {name} | {before} | {wall} | {own} | {other} |')
        print()


if __name__ == '__main__':
    main()
