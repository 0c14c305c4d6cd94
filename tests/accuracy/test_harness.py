"""The accuracy harness end to end on a dataset folder it has never seen: generated tones with
exact references, scored through crepe-predict (tiny, real weights). Needs numpy (.venv) and the
built crepe-predict; the peers' environments are not needed for `--systems ours`."""

import argparse
import json
import math
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARGS = None


def write_tone(path: Path, rate: int, segments):
    """segments: (seconds, Hz or 0 for silence); 16-bit mono WAV. Returns the reference rows."""
    samples, phase = [], 0.0
    for seconds, hz in segments:
        for _ in range(int(seconds * rate)):
            samples.append(0.4 * math.sin(phase) if hz else 0.0)
            phase += 2 * math.pi * hz / rate
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(32767 * s)) for s in samples))


def write_reference(path: Path, segments, step=0.005, margin=0.08):
    """Rows every `step` s; rows within `margin` of a change are left out, as in the public set
    (CREPE's Viterbi moves at most 11 bins, 220 cents, per frame, so it needs ~60 ms for an octave)."""
    rows, start = ["time,frequency"], 0.0
    for seconds, hz in segments:
        t = start
        while t < start + seconds - 1e-9:
            if t - start >= margin and start + seconds - t >= margin:
                rows.append("%.4f,%.3f" % (t, hz))
            t += step
        start += seconds
    path.write_text("\n".join(rows) + "\n")


class HarnessOnAnUnseenFolder(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = Path(tempfile.mkdtemp(prefix="crepe-accuracy-"))
        data = cls.dir / "data"
        for dataset, rate, segments in (
            ("tones-22k", 22050, [(0.3, 0), (0.6, 220.0), (0.6, 440.0)]),
            ("tones-16k", 16000, [(0.5, 330.0), (0.3, 0), (0.5, 165.0)]),
        ):
            (data / dataset).mkdir(parents=True)
            write_tone(data / dataset / "clip.wav", rate, segments)
            write_reference(data / dataset / "clip.f0.csv", segments)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def run_harness(self, *extra, data=None):
        cmd = [sys.executable, str(ROOT / "bench" / "accuracy" / "run_accuracy.py"), "--data",
               str(data or self.dir / "data"), "--work", str(self.dir / "work"), "--report-dir",
               str(self.dir / "report"), "--systems", "ours", "--models", "tiny", "--configs",
               "weighted_argmax,viterbi,viterbi_confidence", "--soxr-models", "", "--speed-seconds", "0", "--no-plots",
               "--crepe-predict", ARGS.crepe_predict, *extra]
        return subprocess.run(cmd, capture_output=True, text=True)

    def test_scores_resume_and_errors(self):
        p = self.run_harness()
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("2 tracks in 2 datasets", p.stdout)
        blob = json.loads((self.dir / "report" / "accuracy.json").read_text())
        self.assertEqual(blob["datasets"], ["tones-16k", "tones-22k"])
        configs = {c["config"]: c for c in blob["configurations"]}
        self.assertEqual(set(configs), {"tiny-weighted_argmax", "tiny-viterbi", "tiny-viterbi_confidence"})
        # The original's Viterbi comes down slowly from where silence left it; ours does not.
        self.assertLess(configs["tiny-viterbi"]["overall"]["RPA"], configs["tiny-viterbi_confidence"]["overall"]["RPA"])
        for name in ("tiny-weighted_argmax", "tiny-viterbi_confidence"):
            c = configs[name]
            with self.subTest(name):
                self.assertGreaterEqual(c["overall"]["RPA"], 0.98)
                for d in blob["datasets"]:
                    self.assertGreaterEqual(c["datasets"][d]["RPA"], 0.97)
                self.assertGreater(c["overall"]["voiced_rows"], 300)
        md = (self.dir / "report" / "accuracy.md").read_text()
        self.assertIn("| ours (crepe-predict) | tiny | viterbi_confidence |", md)
        # A run on other data never touches bench/RESULTS.md unless asked.
        self.assertNotIn("headline section", p.stdout)

        # A second run finds every estimate in place and runs nothing.
        again = self.run_harness()
        self.assertEqual(again.returncode, 0, again.stdout + again.stderr)
        self.assertNotIn("tracks in", again.stdout.replace("2 tracks in 2 datasets", ""))

        # --results-md: the marked headline section is added once, then replaced in place; the
        # hand-written text around it is kept.
        results_md = self.dir / "RESULTS.md"
        results_md.write_text("# Results\n\nhand-written intro\n")
        for _ in range(2):
            p = self.run_harness("--score-only", "--results-md", str(results_md))
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        text = results_md.read_text()
        self.assertTrue(text.startswith("# Results\n\nhand-written intro\n"), text[:200])
        self.assertEqual(text.count("accuracy-headline: begin"), 1)
        self.assertEqual(text.count("accuracy-headline: end"), 1)
        # A --score-only report keeps naming the run that computed the estimates.
        self.assertIn("this report rewritten from that run's estimates and timings", text)
        self.assertIn("run_accuracy.py --data", text)
        self.assertRegex(text, r"\| tiny \| \d+\.\d\d \| — \|")  # ours weighted_argmax; no original here
        results_md.write_text(text + "\nhand-written reading after the section\n")
        p = self.run_harness("--score-only", "--results-md", str(results_md))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertTrue(results_md.read_text().endswith("hand-written reading after the section\n"))

        # A malformed reference stops the run before anything is computed, naming the file.
        bad = self.dir / "bad" / "set"
        bad.mkdir(parents=True)
        write_tone(bad / "x.wav", 16000, [(0.2, 200.0)])
        (bad / "x.f0.csv").write_text("time,frequency\n0.0,abc\n")
        p = self.run_harness(data=self.dir / "bad")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("x.f0.csv:2", p.stderr)
        p = self.run_harness("--threshold", "0.33")
        self.assertNotEqual(p.returncode, 0)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--crepe-predict", required=True)
    ARGS, rest = ap.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest)
