"""The configurations the harness scores, and how each system is run to produce its estimates.

Ours go through crepe-predict. Per capacity the network runs once per dataset (the original's
default decoder, weighted_argmax, writing activations); every other decoder and post-processing
configuration is crepe-predict --activations-from on those activations, which gives the same files
as a full run with the same options (the network's output does not depend on them; a test checks
the equality) and makes the post-processing study cheap.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from estimates import Track, estimate_done, estimate_stem, save_tracks

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CAPACITIES = ("tiny", "small", "medium", "large", "full")
PEER_DECODERS = ("weighted_argmax", "viterbi")


@dataclass(frozen=True)
class OurConfig:
    name: str  # appended to the capacity: "<capacity>-<name>"
    decoder: str
    post: str  # human-readable post-processing, "" = none
    args: tuple[str, ...]  # crepe-predict options besides -m
    needs_network: bool = False  # its own network run (a different resampler changes the frames)


BASE = OurConfig("weighted_argmax", "weighted_argmax", "", ())
OUR_CONFIGS = (
    BASE,
    OurConfig("argmax", "argmax", "", ("--decoder", "argmax")),
    OurConfig("viterbi", "viterbi", "", ("--decoder", "viterbi")),
    OurConfig("viterbi+median3", "viterbi", "periodicity median 3", ("--decoder", "viterbi", "--median-filter", "3")),
    OurConfig("viterbi+gate60", "viterbi", "silence gate -60 dB", ("--decoder", "viterbi", "--silence-db", "-60")),
    OurConfig("viterbi+gate60+median3", "viterbi", "silence gate -60 dB, periodicity median 3",
              ("--decoder", "viterbi", "--silence-db", "-60", "--median-filter", "3")),
    OurConfig("viterbi_confidence", "viterbi_confidence", "", ("--decoder", "viterbi_confidence")),
    OurConfig("viterbi_confidence+median3", "viterbi_confidence", "periodicity median 3",
              ("--decoder", "viterbi_confidence", "--median-filter", "3")),
    OurConfig("viterbi+mean3", "viterbi", "pitch mean 3", ("--decoder", "viterbi", "--mean-filter", "3")),
    OurConfig("weighted_argmax+gate60+median3", "weighted_argmax", "silence gate -60 dB, periodicity median 3",
              ("--silence-db", "-60", "--median-filter", "3")),
)
SOXR = OurConfig("weighted_argmax+soxr", "weighted_argmax", "resampler soxr_vhq", ("--resampler", "soxr_vhq"),
                 needs_network=True)


def by_dataset(tracks: list[Track]) -> dict[str, list[Track]]:
    out: dict[str, list[Track]] = {}
    for t in tracks:
        out.setdefault(t.dataset, []).append(t)
    return out


def log(msg: str) -> None:
    print(msg, flush=True)


def run_checked(cmd: list[str], what: str) -> subprocess.CompletedProcess:
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stdout + p.stderr)
        raise SystemExit("%s failed (exit %d): %s" % (what, p.returncode, " ".join(cmd)))
    return p


def run_ours(predict: str, tracks: list[Track], estimates: Path, capacity: str, configs: list[OurConfig],
             threads: int) -> None:
    env_prefix = ["env", "OMP_NUM_THREADS=%d" % threads]
    for dataset, group in by_dataset(tracks).items():
        files = [t.audio for t in group]
        base_dir = estimates / "ours" / ("%s-%s" % (capacity, BASE.name)) / dataset
        for cfg in configs:
            stems = [estimate_stem(estimates, "ours", "%s-%s" % (capacity, cfg.name), t) for t in group]
            if all(estimate_done(s) for s in stems):
                continue
            out_dir = stems[0].parent
            cmd = env_prefix + [predict, "-q", "-m", capacity, "--periodicity", "-o", str(out_dir), *cfg.args]
            if cfg is BASE:
                cmd.append("--activations")
            elif not cfg.needs_network:
                cmd += ["--activations-from", str(base_dir)]
            start = time.perf_counter()
            run_checked(cmd + files, "crepe-predict")
            log("ours %s-%s %s: %d tracks in %.1f s" % (capacity, cfg.name, dataset, len(files),
                                                         time.perf_counter() - start))


def run_peer(script: str, python: Path, tracks_file: Path, out: Path, models: list[str], threads: int,
             mode: str, repeats: int = 1) -> None:
    if not python.is_file():
        raise SystemExit("%s not found: bench/run_accuracy.sh creates it (tools/goldens/setup_env.sh for .venv-tf, "
                         "tools/peers/setup_env.sh for .venv-peers)" % python)
    cmd = [str(python), str(HERE / script), "--tracks", str(tracks_file), "--out", str(out), "--models",
           ",".join(models), "--threads", str(threads), "--mode", mode, "--repeats", str(repeats)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tail: list[str] = []
    for line in p.stdout:
        if any(k in line for k in TF_NOISE):
            continue
        tail = (tail + [line])[-40:]
        log(line.rstrip())
    if p.wait() != 0:
        sys.stderr.write("".join(tail))
        raise SystemExit("%s failed (exit %d)" % (script, p.returncode))


TF_NOISE = ("WARNING", "oneDNN", "cpu_feature_guard", "rebuild TensorFlow", "absl::InitializeLog")
ELAPSED = re.compile(r"(\d+) frames, [0-9.]+ s of audio in ([0-9.]+) s")


def time_ours(predict: str, clip: str, capacity: str, cfg: OurConfig, out_dir: Path, threads: int,
              repeats: int = 1) -> dict:
    """End-to-end crepe-predict runs on the clip with the configuration's options (network included,
    whatever the configuration), timed by crepe-predict itself: reading the audio, resampling,
    network, decoding, post-processing and writing the outputs; not the weights' loading. The
    fastest of `repeats` runs is kept (the others are the same work slowed by whatever else the
    machine was doing)."""
    cmd = ["env", "OMP_NUM_THREADS=%d" % threads, predict, "-m", capacity, "--periodicity", "-o", str(out_dir),
           *cfg.args, clip]
    runs = []
    for _ in range(max(1, repeats)):
        p = run_checked(cmd, "crepe-predict")
        m = ELAPSED.search(p.stderr)
        if not m:
            raise SystemExit("could not read crepe-predict's timing from: %s" % p.stderr)
        runs.append((float(m.group(2)), int(m.group(1))))
    seconds, frames = min(runs)
    return {"system": "ours", "config": "%s-%s" % (capacity, cfg.name), "frames": frames, "seconds": seconds,
            "runs_seconds": [r[0] for r in runs], "threads": threads, "audio": clip}


def make_speed_clip(tracks: list[Track], seconds: float, path: Path) -> Track:
    """The longest track, cut to `seconds`, at its own sample rate."""
    import soundfile

    longest = max(tracks, key=lambda t: soundfile.info(t.audio).duration)
    audio, sr = soundfile.read(longest.audio, dtype="float32", always_2d=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), audio[: int(seconds * sr)], sr, subtype="FLOAT")
    clip = Track("speed", path.stem, str(path.resolve()), "")
    save_tracks([clip], path.with_suffix(".json"))
    return clip
