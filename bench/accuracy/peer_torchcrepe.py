"""torchcrepe 0.0.24 as its users get it, dither included. Runs in .venv-peers
(tools/peers/setup_env.sh).

This is torchcrepe.predict(audio, sr, hop_length=sr // 100, model=..., decoder=...,
return_periodicity=True) with its defaults (fmin 50 Hz, fmax 2006 Hz, pad=True, the whole clip as
one decoding sequence), split into its own steps so that the network runs once per clip for both
decoders: preprocess -> infer (in chunks of frames, which only bounds memory: the network treats
frames independently) -> postprocess once per decoder on the whole clip. The numpy global random
state that torchcrepe's dither draws from is seeded per track so that reruns are identical.

  accuracy mode: writes <out>/torchcrepe/<capacity>-<decoder>/<dataset>/<track>.f0.csv and
                 .periodicity.csv (torchcrepe's periodicity: the probability at the chosen bin).
  speed mode:    times each capacity and decoder on the first track (the fastest of --repeats
                 runs) and writes
                 <out>/torchcrepe-<capacity>-<decoder>.json.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import soundfile
import torch
import torchcrepe

sys.path.insert(0, str(Path(__file__).resolve().parent))
from estimates import estimate_done, estimate_stem, load_tracks, time_peer, write_estimate  # noqa: E402

DECODERS = {"weighted_argmax": torchcrepe.decode.weighted_argmax, "viterbi": torchcrepe.decode.viterbi}
CHUNK = 1024  # frames per network call


def network(audio: np.ndarray, sr: int, capacity: str):
    """The probabilities (1, 360, T) of the whole clip, and the hop at 16 kHz torchcrepe used."""
    x = torch.from_numpy(audio.astype(np.float32))[None]
    hop = sr // 100  # torchcrepe's default: 10 ms at the input rate
    chunks = [torchcrepe.infer(frames, capacity, "cpu") for frames in
              torchcrepe.preprocess(x, sr, hop, CHUNK, "cpu", True)]
    probs = torch.cat(chunks, 0).reshape(1, -1, torchcrepe.PITCH_BINS).transpose(1, 2)
    hop16k = int(hop * torchcrepe.SAMPLE_RATE / sr) if sr != torchcrepe.SAMPLE_RATE else hop
    return probs, hop16k


def decode(probs: torch.Tensor, decoder: str, seed: int):
    np.random.seed(seed)
    # postprocess and weighted_argmax write into their input: give each decoder its own copy.
    pitch, periodicity = torchcrepe.postprocess(probs.clone(), 50.0, torchcrepe.MAX_FMAX, DECODERS[decoder],
                                                False, True)
    return pitch[0].numpy(), periodicity[0].numpy()


def read_mono(path: str):
    audio, sr = soundfile.read(path, dtype="float32", always_2d=True)
    return audio.mean(axis=1), sr


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracks", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--models", default="tiny,full")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mode", choices=("accuracy", "speed"), default="accuracy")
    ap.add_argument("--repeats", type=int, default=1, help="speed mode: timed runs, the fastest kept")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tracks = load_tracks(Path(args.tracks))
    with torch.no_grad():
        for cap in args.models.split(","):
            stems = {d: [estimate_stem(Path(args.out), "torchcrepe", "%s-%s" % (cap, d), t) for t in tracks]
                     for d in DECODERS}
            # Untimed warm-up (loads the model).
            network(np.zeros(16000, np.float32), 16000, cap)
            if args.mode == "speed":
                track = tracks[0]

                def analyse():
                    audio, sr = read_mono(track.audio)
                    probs, _ = network(audio, sr, cap)
                    return probs, int(probs.shape[2])

                time_peer(Path(args.out), "torchcrepe", cap, track.audio, args.threads, args.repeats, analyse,
                          {d: (lambda probs, d=d: decode(probs, d, 0)) for d in DECODERS})
                continue
            for i, track in enumerate(tracks):
                if all(estimate_done(stems[d][i]) for d in DECODERS):
                    continue
                audio, sr = read_mono(track.audio)
                probs, hop16k = network(audio, sr, cap)
                t = np.arange(probs.shape[2]) * hop16k / torchcrepe.SAMPLE_RATE
                for d in DECODERS:
                    pitch, periodicity = decode(probs, d, i)
                    write_estimate(stems[d][i], t, pitch, periodicity, periodicity)
                print("torchcrepe %s [%d/%d] %s/%s: %d frames" % (cap, i + 1, len(tracks), track.dataset, track.name,
                                                                 probs.shape[2]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
