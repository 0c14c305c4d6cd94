#!/usr/bin/env python3
"""Writes tests/fixtures/postprocess/*.npy: deterministic inputs and torchcrepe's outputs for
the post-processing module (filters, At/Hysteresis thresholds, A-weighted loudness, Silence).

Run with the peers environment (tools/peers/setup_env.sh):
    .venv-peers/bin/python tools/peers/make_postprocess_fixtures.py [--out DIR]

All arrays are float32, 1-D unless stated. The inputs are chosen so that torchcrepe's quirks
that the C++ port deliberately does not reproduce never matter:
  * filter inputs hold no genuine zeros (torchcrepe's mean turns exact-0 results into NaN);
  * the loudness signal keeps every spectrogram bin within 80 dB of the loudest one, so
    librosa's top_db clamp (which the port leaves out) does not bind.
"""

import argparse
import json
import pathlib
import sys

import librosa
import numpy as np
import torch
import torchcrepe

ROOT = pathlib.Path(__file__).resolve().parents[2]
SEED = 20240611
SAMPLE_RATE = 16000
HOP = 160
FILTER_WINDOWS = [1, 3, 5, 9, 15]
HYSTERESIS_CUSTOM = dict(lower_bound=0.25, upper_bound=0.4, width=0.3, stds=1.5)


def save(out, name, array):
    array = np.ascontiguousarray(array, dtype=np.float32)
    np.save(out / f"{name}.npy", array)
    return {"shape": list(array.shape)}


def filters(out, rng, manifest):
    n = 400
    x = (50.0 + 300.0 * rng.random(n)).astype(np.float32)  # strictly positive: no genuine zeros
    x[rng.random(n) < 0.1] = np.nan
    x[[0, 1, n - 1]] = np.nan
    x[200:220] = np.nan  # longer than every window: all-NaN windows in the middle
    signals = torch.from_numpy(x)[None]

    means, medians = [], []
    for w in FILTER_WINDOWS:
        mean = torchcrepe.filter.mean(signals, w)[0].numpy()
        median = torchcrepe.filter.median(signals, w)[0].numpy()
        # NaN exactly where a (truncated) window holds no valid value.
        valid = ~np.isnan(x)
        counts = np.array([valid[max(0, t - w // 2):t + w // 2 + 1].sum() for t in range(n)])
        assert np.array_equal(np.isnan(mean), counts == 0), w
        assert np.array_equal(np.isnan(median), counts == 0), w
        # torchcrepe's own check: the new filters equal the legacy truncated-window ones.
        legacy = torchcrepe.filter.nanfilter(signals, w, torchcrepe.filter.nanmedian)[0].numpy()
        assert np.allclose(median, legacy, equal_nan=True), w
        means.append(mean)
        medians.append(median)
    manifest["filter_input"] = save(out, "filter_input", x)
    manifest["filter_windows"] = save(out, "filter_windows", np.array(FILTER_WINDOWS))
    manifest["filter_mean"] = save(out, "filter_mean", np.stack(means))
    manifest["filter_median"] = save(out, "filter_median", np.stack(medians))


def hysteresis(out, rng, manifest):
    n = 1000
    t = np.arange(n)
    pitch = 200.0 * 2.0 ** (0.5 * np.sin(2 * np.pi * t / 310.0)) * (1.0 + 0.01 * rng.standard_normal(n))
    jumps = rng.choice(n, 25, replace=False)  # octave errors: far from the mean log-pitch
    pitch[jumps[:12]] *= 2.0
    pitch[jumps[12:]] *= 0.5
    pitch = pitch.astype(np.float32)
    pitch[rng.choice(n, 3, replace=False)] = np.nan
    # Voiced stretches, unvoiced gaps and weak blips that rise above .19 but stay below .31.
    smooth = np.convolve(rng.standard_normal(n + 20), np.ones(21) / 21.0, mode="valid")[:n]
    periodicity = np.clip(0.3 + 1.2 * smooth + 0.05 * rng.standard_normal(n), 0.0, 1.0).astype(np.float32)

    p = torch.from_numpy(pitch)[None]
    per = torch.from_numpy(periodicity)[None]
    default = torchcrepe.threshold.Hysteresis()(p, per)[0].numpy().astype(np.float32)
    custom = torchcrepe.threshold.Hysteresis(**HYSTERESIS_CUSTOM)(p, per)[0].numpy().astype(np.float32)
    at_lower = torchcrepe.threshold.At(0.19)(p, per)[0].numpy()
    extra = int(np.isnan(default).sum() - np.isnan(at_lower).sum())
    assert extra > 0, "the hysteresis fixture must reject more than At(lower) does"
    print(f"hysteresis: {int(np.isnan(default).sum())}/{n} unvoiced ({extra} beyond At(.19)); "
          f"custom: {int(np.isnan(custom).sum())}/{n}")
    manifest["hysteresis_pitch"] = save(out, "hysteresis_pitch", pitch)
    manifest["hysteresis_periodicity"] = save(out, "hysteresis_periodicity", periodicity)
    manifest["hysteresis_default"] = save(out, "hysteresis_default", default)
    manifest["hysteresis_custom"] = save(out, "hysteresis_custom", custom)
    manifest["hysteresis_custom_options"] = save(
        out, "hysteresis_custom_options", [HYSTERESIS_CUSTOM[k] for k in ("lower_bound", "upper_bound", "width", "stds")])


def check_top_db_does_not_bind(audio, pad):
    stft = librosa.stft(audio, n_fft=1024, hop_length=HOP, win_length=1024, center=pad, pad_mode="constant")
    db = librosa.amplitude_to_db(np.abs(stft), top_db=None)
    margin = db.min() - (db.max() - 80.0)
    assert margin > 1.0, f"top_db would bind (margin {margin:.2f} dB)"
    return float(margin)


def loudness(out, rng, manifest):
    n = 12037  # not a multiple of the hop; 76 centred frames
    t = np.arange(n) / SAMPLE_RATE
    envelope = 10.0 ** ((-4.0 + 4.0 * np.sin(2 * np.pi * 1.1 * t)) / 20.0)
    # Tones over white noise, plus a small DC offset and a Nyquist-rate component: the DC and
    # Nyquist bins are real-valued, so on noise alone they dip far deeper than the others.
    audio = envelope * (0.03 * np.sin(2 * np.pi * 220.0 * t) + 0.015 * np.sin(2 * np.pi * 660.0 * t + 0.3) +
                        0.01 + 0.004 * (-1.0) ** np.arange(n) + 0.05 * rng.standard_normal(n))
    audio = audio.astype(np.float32)
    tensor = torch.from_numpy(audio)[None]
    results = {}
    for pad in (True, False):
        margin = check_top_db_does_not_bind(audio, pad)
        loud = torchcrepe.loudness.a_weighted(tensor, SAMPLE_RATE, HOP, pad)[0].numpy()
        expected_frames = 1 + n // HOP if pad else 1 + (n - 1024) // HOP
        assert loud.shape == (expected_frames,), loud.shape
        print(f"loudness pad={pad}: {loud.shape[0]} frames, {loud.min():.2f} .. {loud.max():.2f} dB, "
              f"top_db margin {margin:.1f} dB")
        results[pad] = loud
    manifest["loudness_audio"] = save(out, "loudness_audio", audio)
    manifest["loudness_center"] = save(out, "loudness_center", results[True])
    manifest["loudness_nocenter"] = save(out, "loudness_nocenter", results[False])

    # Silence: gate at a level halfway between two neighbouring frame loudnesses near the
    # median, so that tiny numerical differences cannot flip a decision.
    loud = np.sort(results[True])
    k = len(loud) // 2
    threshold = float(0.5 * (loud[k - 1] + loud[k]))
    assert loud[k] - loud[k - 1] > 1e-2
    periodicity = (0.05 + 0.9 * rng.random(len(loud))).astype(np.float32)
    gated = torchcrepe.threshold.Silence(threshold)(torch.from_numpy(periodicity)[None], tensor, SAMPLE_RATE, HOP,
                                                   True)[0].numpy()
    manifest["silence_periodicity"] = save(out, "silence_periodicity", periodicity)
    manifest["silence_threshold"] = save(out, "silence_threshold", [threshold])
    manifest["silence_expected"] = save(out, "silence_expected", gated)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "tests" / "fixtures" / "postprocess")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    manifest = {}
    filters(args.out, rng, manifest)
    hysteresis(args.out, rng, manifest)
    loudness(args.out, rng, manifest)
    versions = {"torch": torch.__version__, "numpy": np.__version__, "librosa": librosa.__version__,
                "torchcrepe": "0.0.24", "python": sys.version.split()[0], "seed": SEED}
    (args.out / "manifest.json").write_text(json.dumps({"versions": versions, "arrays": manifest}, indent=1) + "\n")
    total = sum(p.stat().st_size for p in args.out.iterdir())
    print(f"wrote {len(manifest)} arrays to {args.out} ({total / 1024:.1f} KiB)")


if __name__ == "__main__":
    main()
