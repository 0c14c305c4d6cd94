"""The original CREPE as its users run it: marl/crepe 0.0.16's pipeline and decoders, the network in
TensorFlow with the official weights. Runs in .venv-tf (tools/goldens/setup_env.sh).

marl/crepe's own build_and_load_model needs Keras 2 and downloads weights from GitHub, so the
network is tools/goldens/keras_crepe.py's layer-for-layer Keras rebuild, loaded with the official
weights and injected into crepe.core.models; everything else (resampy resampling, framing,
normalisation, model.predict with Keras' default batch of 32, to_local_average_cents,
to_viterbi_cents through hmmlearn, confidence = max activation) is the original code.

  accuracy mode: writes <out>/original/<capacity>-<decoder>/<dataset>/<track>.f0.csv for every
                 track (resumable: finished tracks are skipped).
  speed mode:    times each capacity and decoder on the first track (the fastest of --repeats
                 runs) and writes
                 <out>/original-<capacity>-<decoder>.json (frames, seconds).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")  # TensorFlow's default on x86, what users get
sys.path.insert(0, str(ROOT / "tools" / "goldens"))
sys.path.insert(0, str(HERE))

import keras_crepe as kc  # noqa: E402  (sets the remaining TF env vars before TensorFlow loads)
import numpy as np  # noqa: E402
import soundfile  # noqa: E402

from estimates import estimate_done, estimate_stem, load_tracks, time_peer, write_estimate  # noqa: E402

DECODERS = ("weighted_argmax", "viterbi")
CREPE_SRC = ROOT / ".venv-tf" / "src" / "crepe-0.0.16"


def import_crepe_core():
    if not (CREPE_SRC / "crepe" / "core.py").is_file():
        raise SystemExit("marl/crepe 0.0.16 sources not found at %s: run tools/goldens/setup_env.sh" % CREPE_SRC)
    sys.path.insert(0, str(CREPE_SRC))
    import crepe.core

    return crepe.core


def read_audio(path: str):
    audio, sr = soundfile.read(path, dtype="float32", always_2d=False)
    return audio, sr


def decode(core, activation: np.ndarray, decoder: str):
    """crepe.core.predict after get_activation, verbatim in effect."""
    confidence = activation.max(axis=1)
    cents = core.to_viterbi_cents(activation) if decoder == "viterbi" else core.to_local_average_cents(activation)
    frequency = 10 * 2 ** (cents / 1200)
    frequency[np.isnan(frequency)] = 0
    t = np.arange(confidence.shape[0]) * 10 / 1000.0
    return t, frequency, confidence


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracks", required=True, help="track list (JSON) written by the harness")
    ap.add_argument("--out", required=True, help="estimates root (accuracy) or timing folder (speed)")
    ap.add_argument("--models", default="tiny,small,medium,large,full")
    ap.add_argument("--models-dir", default=str(ROOT / "models"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mode", choices=("accuracy", "speed"), default="accuracy")
    ap.add_argument("--repeats", type=int, default=1, help="speed mode: timed runs, the fastest kept")
    args = ap.parse_args()

    kc.configure_tf(args.threads)
    core = import_crepe_core()
    tracks = load_tracks(Path(args.tracks))
    for cap in args.models.split(","):
        weights = Path(args.models_dir) / ("%s.h5" % cap)
        if not weights.is_file():
            raise SystemExit("weights not found: %s (run tools/fetch_weights.py)" % weights)
        stems = {d: [estimate_stem(Path(args.out), "original", "%s-%s" % (cap, d), t) for t in tracks] for d in DECODERS}
        if args.mode == "accuracy" and all(estimate_done(s) for d in DECODERS for s in stems[d]):
            print("original %s: all %d tracks already done" % (cap, len(tracks)), flush=True)
            continue
        core.models[cap] = kc.load_model(cap, str(weights))
        # Untimed warm-up: Keras traces its predict function on the first call.
        core.get_activation(np.zeros(16000, np.float32), 16000, model_capacity=cap, verbose=0)
        if args.mode == "speed":
            track = tracks[0]

            def analyse():
                audio, sr = read_audio(track.audio)
                act = core.get_activation(audio, sr, model_capacity=cap, center=True, step_size=10, verbose=0)
                return act, len(act)

            time_peer(Path(args.out), "original", cap, track.audio, args.threads, args.repeats, analyse,
                      {d: (lambda act, d=d: decode(core, act, d)) for d in DECODERS})
            continue
        for i, track in enumerate(tracks):
            if all(estimate_done(stems[d][i]) for d in DECODERS):
                continue
            audio, sr = read_audio(track.audio)
            activation = core.get_activation(audio, sr, model_capacity=cap, center=True, step_size=10, verbose=0)
            for d in DECODERS:
                t, f, c = decode(core, activation, d)
                write_estimate(stems[d][i], t, f, c)
            print("original %s [%d/%d] %s/%s: %d frames" % (cap, i + 1, len(tracks), track.dataset, track.name,
                                                             len(activation)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
