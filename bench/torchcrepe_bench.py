#!/usr/bin/env python3
"""torchcrepe's side of the throughput comparison (run with .venv-peers/bin/python).

The same measurements as crepe-bench, with the same repetition rule: one untimed warm-up call,
then timed calls until at least --iterations calls and --seconds seconds have passed (at most
--max-iterations); the median call is reported, the best beside it.

- network: torchcrepe.infer on the same normalised frames (--frames, written by
  `crepe-bench --dump-frames`), fed in chunks of --batch frames, under torch.no_grad() as
  torchcrepe.predict runs it.
- e2e: torchcrepe.predict on the same audio (tiled --repeat times) with its own resampling
  (resampy kaiser_best), a 10 ms hop, centre padding, the same decoder and bin range, and
  batch_size=--batch; periodicity is returned too, since our pipeline always computes it.
File decoding is outside the timed region on both sides.
"""

import argparse
import importlib.metadata
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import soundfile
import torch
import torchcrepe

ARCH = {  # filters per conv layer, as torchcrepe.Crepe builds them
    'tiny': [128, 16, 16, 16, 32, 64],
    'full': [1024, 128, 128, 128, 256, 512],
}
DECODERS = {
    'argmax': torchcrepe.decode.argmax,
    'weighted_argmax': torchcrepe.decode.weighted_argmax,
    'viterbi': torchcrepe.decode.viterbi,
}


def gflop_per_frame(capacity):
    """2 x multiply-adds of the six convolutions ('same' output length) and the dense layer."""
    filters = ARCH[capacity]
    length, cin, flops = 1024, 1, 0.0
    for layer, cout in enumerate(filters):
        kernel, stride = (512, 4) if layer == 0 else (64, 1)
        out = -(-length // stride)
        flops += 2.0 * kernel * cin * cout * out
        cin, length = cout, out // 2
    flops += 2.0 * 4 * filters[-1] * 360
    return flops / 1e9


def measure(args, body):
    start = time.perf_counter()
    body()
    warmup = time.perf_counter() - start
    seconds = []
    while len(seconds) < args.iterations or (sum(seconds) < args.seconds and len(seconds) < args.max_iterations):
        start = time.perf_counter()
        body()
        seconds.append(time.perf_counter() - start)
    return warmup, seconds


def sync(device):
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def load_audio(path, repeat):
    data, sample_rate = soundfile.read(path, dtype='float32', always_2d=True)
    mono = data.mean(axis=1, dtype=np.float64).astype(np.float32) if data.shape[1] > 1 else data[:, 0]
    mono = np.tile(mono, repeat)
    return torch.from_numpy(np.ascontiguousarray(mono))[None, :], sample_rate


def network_frames(args, audio, sample_rate):
    if args.frames:
        frames = np.load(args.frames).astype(np.float32, copy=False)
        if frames.ndim != 2 or frames.shape[1] != 1024:
            sys.exit(f'{args.frames}: expected an (N, 1024) array')
        return torch.from_numpy(np.ascontiguousarray(frames[:args.net_frames]))
    # No frames given: torchcrepe's own framing and normalisation of the clip, cycled.
    hop = hop_for(sample_rate)
    frames = torch.cat(list(torchcrepe.preprocess(audio, sample_rate, hop, None, 'cpu', True)))
    index = torch.arange(args.net_frames) % frames.size(0)
    return frames[index].contiguous()


def hop_for(sample_rate):
    """A hop in input samples that torchcrepe.preprocess turns into exactly 160 samples at 16 kHz."""
    hop = math.ceil(160 * sample_rate / 16000)
    if int(hop * 16000 / sample_rate) != 160:
        sys.exit(f'no input hop maps to 10 ms at 16 kHz for a {sample_rate} Hz file')
    return hop


def row_dict(kind, capacity, device, decoder, frames, warmup, seconds, audio_seconds=None):
    median, best = statistics.median(seconds), min(seconds)
    g = gflop_per_frame(capacity)
    row = {'kind': kind, 'capacity': capacity, 'device': device}
    if decoder:
        row['decoder'] = decoder
    row.update({'frames': frames, 'gflop_per_frame': g, 'iterations': len(seconds), 'warmup_s': warmup,
                'median_s': median, 'best_s': best, 'fps_median': frames / median, 'fps_best': frames / best,
                'gflops_median': frames / median * g})
    if audio_seconds is not None:
        row['audio_seconds'] = audio_seconds
        row['xrt_median'] = audio_seconds / median
    return row


def print_row(r):
    if r.get('skipped'):
        print(f"{r['kind']:<8} {r['capacity']:<7} {r['device']:<7} {r.get('decoder', '-'):<16} skipped: {r['note']}")
        return
    xrt = f"{r['xrt_median']:.1f}" if 'xrt_median' in r else '-'
    print(f"{r['kind']:<8} {r['capacity']:<7} {r['device']:<7} {r.get('decoder', '-'):<16} {r['frames']:>7} "
          f"{r['iterations']:>5} {r['median_s']:>9.4f} {r['best_s']:>9.4f} {r['fps_median']:>11.1f} "
          f"{r['fps_best']:>11.1f} {r['gflops_median']:>8.1f} {xrt:>8}", flush=True)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--audio', default=os.path.join(root, 'assets', 'examples', 'sung-vowel.wav'))
    p.add_argument('--repeat', type=int, default=1, help='tile the audio this many times')
    p.add_argument('--models', default='tiny,full', help='comma-separated; torchcrepe has tiny and full only')
    p.add_argument('--device', default='cpu', help='comma-separated: cpu, cuda, cuda:N')
    p.add_argument('--decoder', default='weighted_argmax', help='comma-separated: argmax, weighted_argmax, viterbi')
    p.add_argument('--seconds', type=float, default=2.0, help='minimum timed seconds per measurement')
    p.add_argument('--iterations', type=int, default=5, help='minimum timed calls per measurement')
    p.add_argument('--max-iterations', type=int, default=200)
    p.add_argument('--threads', type=int, default=0, help="torch.set_num_threads; 0 = torch's default")
    p.add_argument('--batch', type=int, default=256, help='frames per forward pass (torchcrepe batch_size)')
    p.add_argument('--net-frames', type=int, default=256, help='frames per network-only call')
    p.add_argument('--frames', help='normalised frames .npy from crepe-bench --dump-frames')
    p.add_argument('--fmin', type=float, default=50.0)
    p.add_argument('--fmax', type=float, default=2006.0)
    p.add_argument('--skip-network', action='store_true')
    p.add_argument('--skip-e2e', action='store_true')
    p.add_argument('--json', help='write the results as JSON here')
    args = p.parse_args()
    args.max_iterations = max(args.max_iterations, args.iterations)

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    print(f"torchcrepe-bench: torch {torch.__version__}, torchcrepe {importlib.metadata.version('torchcrepe')}, "
          f"torch intra-op threads {torch.get_num_threads()} (OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')})")

    audio, sample_rate = load_audio(args.audio, args.repeat)
    audio_seconds = audio.size(1) / sample_rate
    frames = network_frames(args, audio, sample_rate)
    hop = hop_for(sample_rate)
    print(f'audio: {args.audio} x {args.repeat} = {audio_seconds:.2f} s at {sample_rate} Hz; hop {hop} input samples '
          f'(160 at 16 kHz); network-only: {frames.size(0)} frames in chunks of {args.batch}')
    print(f'rule: 1 warm-up call, then >= {args.iterations} calls and >= {args.seconds:.1f} s '
          f'(at most {args.max_iterations} calls); median reported\n')
    print(f"{'kind':<8} {'model':<7} {'device':<7} {'decoder':<16} {'frames':>7} {'iters':>5} {'median_s':>9} "
          f"{'best_s':>9} {'fps_median':>11} {'fps_best':>11} {'GFLOP/s':>8} {'x_rt':>8}")

    rows = []
    for device in args.device.split(','):
        for capacity in args.models.split(','):
            if capacity not in ARCH:
                sys.exit(f'torchcrepe has no {capacity!r} model (only tiny and full)')
            if device.startswith('cuda') and not torch.cuda.is_available():
                rows.append({'kind': 'network', 'capacity': capacity, 'device': device, 'skipped': True,
                             'note': 'no CUDA device available to this process'})
                print_row(rows[-1])
                continue
            torchcrepe.load.model(device, capacity)
            if not args.skip_network:
                x = frames.to(device)

                def network():
                    with torch.no_grad():
                        for i in range(0, x.size(0), args.batch):
                            torchcrepe.infer(x[i:i + args.batch], capacity, device)
                    sync(device)

                warmup, seconds = measure(args, network)
                rows.append(row_dict('network', capacity, device, None, x.size(0), warmup, seconds))
                print_row(rows[-1])
            if not args.skip_e2e:
                for name in args.decoder.split(','):
                    count = []

                    def e2e():
                        pitch, _ = torchcrepe.predict(audio, sample_rate, hop, args.fmin, args.fmax, capacity,
                                                      DECODERS[name], return_periodicity=True,
                                                      batch_size=args.batch, device=device, pad=True)
                        sync(device)
                        count.append(pitch.size(1))

                    warmup, seconds = measure(args, e2e)
                    rows.append(row_dict('e2e', capacity, device, name, count[-1], warmup, seconds, audio_seconds))
                    print_row(rows[-1])

    if args.json:
        record = {
            'tool': 'torchcrepe-bench',
            'torch_version': torch.__version__,
            'torchcrepe_version': importlib.metadata.version('torchcrepe'),
            'torch_threads': torch.get_num_threads(),
            'omp_num_threads_env': os.environ.get('OMP_NUM_THREADS'),
            'audio': args.audio, 'repeat': args.repeat, 'audio_seconds': audio_seconds, 'batch': args.batch,
            'fmin_hz': args.fmin, 'fmax_hz': args.fmax,
            'frames_file': args.frames,
            'rule': {'min_iterations': args.iterations, 'min_seconds': args.seconds,
                     'max_iterations': args.max_iterations, 'warmup_calls': 1, 'reported': 'median'},
            'results': rows,
        }
        with open(args.json, 'w') as f:
            json.dump(record, f, indent=2)
            f.write('\n')
        print(f'\nwrote {args.json}')


if __name__ == '__main__':
    main()
