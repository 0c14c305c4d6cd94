#!/usr/bin/env python3
"""Writes tests/fixtures/resample/*.npy: what real resampy 0.4.3 outputs for inputs that the C++
tests can rebuild bit for bit, so tests/unit/test_resample.cpp can check that our kaiser_best
resampler is bit-exact.

Usage (from the repository root):
    python3 -m venv .venv-resample
    .venv-resample/bin/pip install -r tools/resample_fixtures/requirements.txt
    .venv-resample/bin/python tools/resample_fixtures/make_fixtures.py [--shared ../shared]

Inputs:
  * test_wav_1s: the first 1.0 s of shared/testdata/crepe-reference/test.wav (int16 / 32768,
    float32), 44.1 kHz.
  * lcg_*: signals built from a 32-bit linear congruential generator in integer arithmetic only
    (the C++ test has the same generator), int16 values / 32768 as float32.
Outputs: <name>.npy, float32, resampy.resample(x, sr, 16000, filter='kaiser_best').
Also kaiser_best_every1024.npy: every 1024th tap of resampy's shipped kaiser_best.npz (float64),
so the test can check the regenerated filter exactly.
"""

import argparse
import json
import os
import wave

import numpy as np
import resampy

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "tests", "fixtures", "resample")


class Lcg:
    """x <- (1664525 x + 1013904223) mod 2^32; a sample is the top 16 bits as a signed int16."""

    def __init__(self, seed):
        self.state = seed & 0xFFFFFFFF

    def next_int16(self):
        self.state = (1664525 * self.state + 1013904223) & 0xFFFFFFFF
        v = self.state >> 16
        return v - 65536 if v >= 32768 else v


def lcg_white(seed, n):
    g = Lcg(seed)
    return [g.next_int16() for _ in range(n)]


def lcg_walk(seed, n):
    # A random walk with steps in [-512, 511], clamped to the int16 range.
    g, acc, out = Lcg(seed), 0, []
    for _ in range(n):
        acc += g.next_int16() >> 6  # arithmetic shift (floor), as in C++ for int32
        acc = max(-32768, min(32767, acc))
        out.append(acc)
    return out


def lcg_quiet(seed, n):
    g = Lcg(seed)
    return [g.next_int16() >> 8 for _ in range(n)]  # [-128, 127]


def to_float(ints):
    return (np.asarray(ints, dtype=np.int16).astype(np.float32) / np.float32(32768)).astype(np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", default=os.path.join(os.path.dirname(ROOT), "shared"))
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)

    with wave.open(os.path.join(args.shared, "testdata", "crepe-reference", "test.wav"), "rb") as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1 and w.getframerate() == 44100
        pcm = np.frombuffer(w.readframes(44100), dtype="<i2")
    cases = {
        "test_wav_1s": (to_float(pcm), 44100),
        "test_wav_short": (to_float(pcm[20000:20100]), 44100),  # shorter than the filter
        "lcg_white_22050": (to_float(lcg_white(1, 5513)), 22050),
        "lcg_walk_48000": (to_float(lcg_walk(2, 12000)), 48000),
        "lcg_quiet_8000": (to_float(lcg_quiet(3, 2001)), 8000),
    }
    manifest = {"resampy": resampy.__version__, "numpy": np.__version__, "cases": {}}
    for name, (x, sr) in cases.items():
        assert x.dtype == np.float32
        y = resampy.resample(x, sr, 16000, filter="kaiser_best")
        assert y.dtype == np.float32 and len(y) == int(len(x) * 16000.0 / sr)
        np.save(os.path.join(OUT, name + ".npy"), y)
        manifest["cases"][name] = {"sample_rate": sr, "input_samples": len(x), "output_samples": len(y)}
        print(f"{name}: {len(x)} samples at {sr} Hz -> {len(y)}")

    half_window, precision, rolloff = resampy.filters.get_filter("kaiser_best")
    assert int(precision) == 8192 and len(half_window) == 409601
    np.save(os.path.join(OUT, "kaiser_best_every1024.npy"), np.ascontiguousarray(half_window[::1024], dtype="<f8"))
    manifest["kaiser_best_rolloff"] = repr(float(rolloff))
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
