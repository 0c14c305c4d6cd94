"""The accuracy harness's metrics and dataset reading (bench/accuracy), on constructed cases whose
answers are known by hand. Needs numpy only (the project's .venv)."""

import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "accuracy"))
import datasets  # noqa: E402
import metrics  # noqa: E402
import time_alignment  # noqa: E402
from estimates import Track, estimate_stem, write_estimate  # noqa: E402


def cents_to_hz(c):
    return 10.0 * 2.0 ** (np.asarray(c, float) / 1200.0)


class MetricsTest(unittest.TestCase):
    def test_estimate_is_read_by_interpolation_in_cents(self):
        # Estimate frames at 0 and 10 ms: 4000 and 4100 cents. Halfway is 4050 cents (not the
        # Hz midpoint, which is ~4049.7 cents), so a reference at 4000 cents is 50 cents away: in.
        est = metrics.Estimate(np.array([0.0, 0.01]), cents_to_hz([4000, 4100]), np.array([1.0, 1.0]))
        cents, voicing = metrics.read_at(est, np.array([0.005]))
        self.assertAlmostEqual(cents[0], 4050.0, places=9)
        self.assertAlmostEqual(voicing[0], 1.0)
        c = metrics.score(np.array([0.005]), cents_to_hz([4000.0 - 1e-6]), est)
        self.assertEqual(c.pitch_correct, 0)  # just beyond 50 cents
        c = metrics.score(np.array([0.005]), cents_to_hz([4000.0 + 1e-6]), est)
        self.assertEqual(c.pitch_correct, 1)

    def test_counts_on_a_hand_made_case(self):
        # Six reference rows: four voiced at 5000 cents, two unvoiced.
        ref_t = np.arange(6) * 0.01
        ref_f = np.array([cents_to_hz(5000)] * 4 + [0.0, 0.0])
        # Estimate on the same grid: right, an octave up, 30 cents off, 60 cents off, then two
        # frames with a pitch but low and high voicing.
        est_c = np.array([5000, 6200, 5030, 5060, 5000, 5000])
        voicing = np.array([0.9, 0.9, 0.2, 0.9, 0.2, 0.9])
        c = metrics.score(ref_t, ref_f, metrics.Estimate(ref_t, cents_to_hz(est_c), voicing))
        s = c.summary(0.5)
        self.assertEqual((c.ref_voiced, c.ref_unvoiced), (4, 2))
        self.assertAlmostEqual(s["RPA"], 2 / 4)  # rows 0 and 2
        self.assertAlmostEqual(s["RCA"], 3 / 4)  # and the octave error, row 1
        self.assertAlmostEqual(s["VR"], 3 / 4)  # rows 0, 1, 3 voiced
        self.assertAlmostEqual(s["VFA"], 1 / 2)  # row 5
        # OA: row 0 (voiced and right) + row 4 (unvoiced both) = 2 of 6; row 2 is right in pitch
        # but called unvoiced.
        self.assertAlmostEqual(s["OA"], 2 / 6)
        low = c.summary(0.15)  # every row voiced: row 2 now counts, rows 4 and 5 are false alarms
        self.assertEqual((low["VR"], low["VFA"], low["OA"]), (1.0, 1.0, 2 / 6))
        total = metrics.Counts()
        total += c
        total += c
        self.assertEqual(total.summary(0.5), {**s, "rows": 12, "voiced_rows": 8})

    def test_frames_without_pitch_are_skipped_and_nothing_is_nan(self):
        t = np.arange(4) * 0.01
        est = metrics.Estimate(t, np.array([cents_to_hz(5000), 0.0, np.nan, cents_to_hz(5000)]),
                               np.array([1.0, np.nan, 0.0, 1.0]))
        c = metrics.score(t, np.full(4, cents_to_hz(5000)), est)
        self.assertEqual(c.pitch_correct, 4)  # read from the frames around the gap
        none = metrics.Estimate(t, np.zeros(4), np.zeros(4))
        c = metrics.score(t, np.full(4, cents_to_hz(5000)), none)
        self.assertEqual((c.pitch_correct, c.chroma_correct), (0, 0))

    def test_best_threshold_and_unknown_threshold(self):
        t = np.arange(2) * 0.01
        c = metrics.score(t, np.array([cents_to_hz(5000), 0.0]),
                          metrics.Estimate(t, np.full(2, cents_to_hz(5000)), np.array([0.7, 0.3])))
        thr, oa = c.best_oa()
        self.assertEqual(oa, 1.0)
        self.assertTrue(0.3 < thr <= 0.7)
        with self.assertRaises(ValueError):
            c.summary(0.33)

    def test_estimate_files_periodicity_wins_over_confidence(self):
        with tempfile.TemporaryDirectory() as d:
            stem = str(Path(d) / "x")
            Path(stem + ".f0.csv").write_text("time,frequency,confidence\n0.000,220.000,0.9\n0.010,0.000,0.8\n")
            e = metrics.read_estimate(stem)
            np.testing.assert_array_equal(e.voicing, [0.9, 0.8])
            Path(stem + ".periodicity.csv").write_text("time,periodicity\n0.000,0.5\n0.010,0.1\n")
            np.testing.assert_array_equal(metrics.read_estimate(stem).voicing, [0.5, 0.1])


class DatasetsTest(unittest.TestCase):
    def setUp(self):
        self.dir = Path(tempfile.mkdtemp())

    def write(self, rel, text=""):
        p = self.dir / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        return p

    def test_a_folder_of_datasets_or_one_dataset(self):
        ref = "time,frequency\n0.0,0\n0.01,220.5\n"
        self.write("root/a/one.wav")
        self.write("root/a/one.f0.csv", ref)
        self.write("root/b/two.flac")
        self.write("root/b/two.f0.csv", ref)
        self.write("root/b/orphan.f0.csv", ref)  # no audio: skipped with a warning
        tracks = datasets.discover([str(self.dir / "root")])
        self.assertEqual([(t.dataset, t.name) for t in tracks], [("a", "one"), ("b", "two")])
        self.assertEqual([t.name for t in datasets.discover([str(self.dir / "root" / "b")])], ["two"])
        r = datasets.read_reference(tracks[0].reference)
        np.testing.assert_array_equal(r.frequency, [0, 220.5])

    def test_bad_folders_and_references_say_what_is_wrong(self):
        with self.assertRaisesRegex(datasets.DatasetError, "no annotated tracks"):
            datasets.discover([str(self.write("empty/readme.txt").parent)])
        with self.assertRaisesRegex(datasets.DatasetError, "not a folder"):
            datasets.discover([str(self.dir / "missing")])
        cases = {
            "hdr.f0.csv": ("t,f\n0,1\n", "header"),
            "cols.f0.csv": ("time,frequency\n0,1,2\n", ":2: expected"),
            "nan.f0.csv": ("time,frequency\n0,nan\n", "finite"),
            "neg.f0.csv": ("time,frequency\n0,-5\n", "not negative"),
            "order.f0.csv": ("time,frequency\n0.1,0\n0.1,0\n", "times must increase"),
            "empty.f0.csv": ("time,frequency\n", "no rows"),
        }
        for name, (text, message) in cases.items():
            with self.subTest(name):
                with self.assertRaisesRegex(datasets.DatasetError, message):
                    datasets.read_reference(str(self.write("refs/" + name, text)))


class TimeAlignmentTest(unittest.TestCase):
    def test_an_estimate_5_ms_late_peaks_at_minus_5_ms(self):
        # A glide of 20 cents per ms: every ms of lateness costs 20 cents, so only the right shift
        # keeps the rows within 50 cents. The estimate says each pitch 5 ms after the reference.
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            (tmp / "set").mkdir()
            ref_t = np.arange(0.0, 1.0, 0.01)
            (tmp / "set" / "glide.f0.csv").write_text(
                "time,frequency\n" + "".join("%.4f,%.6f\n" % (t, cents_to_hz(4000 + 20000 * t)) for t in ref_t))
            track = Track("set", "glide", str(tmp / "set" / "glide.wav"), str(tmp / "set" / "glide.f0.csv"))
            est_t = np.arange(0.0, 1.1, 0.001)
            write_estimate(estimate_stem(tmp / "est", "ours", "tiny-weighted_argmax", track), est_t,
                           cents_to_hz(4000 + 20000 * (est_t - 0.005)), np.ones_like(est_t))
            rpa = time_alignment.rpa_by_shift(tmp / "est", "ours", "tiny-weighted_argmax", [track])
            by_shift = dict(zip(time_alignment.SHIFTS_MS, rpa["overall"]))
            self.assertEqual(max(by_shift, key=by_shift.get), -5)
            self.assertLess(by_shift[0], 0.2)  # only the first rows, before the glide is 5 ms in
            lines = time_alignment.table(tmp / "est", [("ours", "tiny-weighted_argmax")], [track], {"ours": "ours"})
            self.assertIn("| 0 of 1 | set -5 ms |", lines[-1])


if __name__ == "__main__":
    unittest.main()
