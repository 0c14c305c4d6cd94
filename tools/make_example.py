#!/usr/bin/env python3
"""Synthesises the project's example clip, assets/examples/sung-vowel.wav, and its true pitch,
assets/examples/sung-vowel.f0.csv.

A ~3 s sung vowel /a/: a glottal-pulse-like harmonic source (sawtooth phases, -6 dB/octave, the
usual glottal -12 dB/octave plus +6 dB/octave lip radiation) whose pitch glides from G3 (196 Hz) to
C4 (262 Hz) with a 5.5 Hz, +/-30 cent vibrato that sets in after the onset; each harmonic is
weighted by the magnitude response of a cascade of five digital formant resonators for /a/; soft
onset and release; a little band-limited breath noise. Written as 16-bit mono 44.1 kHz PCM.

Deterministic (fixed seed); needs numpy and the standard library only:
    python3 tools/make_example.py [--out assets/examples]
"""

import argparse
import math
import os
import wave

import numpy as np

SAMPLE_RATE = 44100
DURATION_S = 3.0
ONSET_S = 0.20  # voice starts (attack begins)
OFFSET_S = 2.80  # voice ends (release finished)
ATTACK_S = 0.08
RELEASE_S = 0.15
F0_START_HZ = 196.0  # G3
F0_END_HZ = 262.0  # ~C4 (261.63)
GLIDE_START_S = 1.0
GLIDE_END_S = 1.9
VIBRATO_HZ = 5.5
VIBRATO_CENTS = 30.0
VIBRATO_DELAY_S = 0.35  # after the onset
VIBRATO_RAMP_S = 0.45
# Formants of a sung /a/ (frequency, bandwidth) in Hz.
FORMANTS = [(730.0, 90.0), (1090.0, 110.0), (2440.0, 170.0), (3400.0, 250.0), (4500.0, 300.0)]
HARMONIC_FADE_HZ = (8000.0, 10000.0)  # harmonics fade out smoothly across this band
BREATH_LEVEL = 0.025  # breath noise RMS relative to the voice RMS
NOISE_FLOOR_DBFS = -78.0
PEAK = 0.7
SEED = 20240521


def raised_cosine(x):
    """0 for x <= 0, 1 for x >= 1, a half cosine in between."""
    x = np.clip(x, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * x)


def true_f0(t):
    """The sung pitch in Hz at times t (seconds); 0 where there is no voice."""
    glide = raised_cosine((t - GLIDE_START_S) / (GLIDE_END_S - GLIDE_START_S))
    base = F0_START_HZ * (F0_END_HZ / F0_START_HZ) ** glide  # smooth glide in log frequency
    depth = raised_cosine((t - ONSET_S - VIBRATO_DELAY_S) / VIBRATO_RAMP_S)
    cents = VIBRATO_CENTS * depth * np.sin(2 * np.pi * VIBRATO_HZ * (t - ONSET_S))
    f0 = base * 2.0 ** (cents / 1200.0)
    return np.where((t >= ONSET_S) & (t <= OFFSET_S), f0, 0.0)


def amplitude_envelope(t):
    attack = raised_cosine((t - ONSET_S) / ATTACK_S)
    release = raised_cosine((OFFSET_S - t) / RELEASE_S)
    return attack * release


def formant_gain(f):
    """|H| of a cascade of two-pole resonators (Klatt style, unity gain at DC) at frequency f."""
    w = 2 * np.pi * f / SAMPLE_RATE
    z1 = np.exp(-1j * w)
    gain = np.ones_like(f)
    for freq, bw in FORMANTS:
        r = math.exp(-math.pi * bw / SAMPLE_RATE)
        c = -2 * r * math.cos(2 * math.pi * freq / SAMPLE_RATE)
        gain = gain * np.abs((1 + c + r * r) / (1 + c * z1 + r * r * z1 * z1))
    return gain


def harmonic_fade(f):
    lo, hi = HARMONIC_FADE_HZ
    return 1.0 - raised_cosine((f - lo) / (hi - lo))


def breath_noise(rng, n):
    """White noise band-limited to roughly 400 Hz - 7 kHz and tilted by the formants."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    band = raised_cosine((f - 200.0) / 400.0) * (1.0 - raised_cosine((f - 5000.0) / 3000.0))
    noise = np.fft.irfft(spectrum * band * np.sqrt(formant_gain(f)), n)
    return noise / np.sqrt(np.mean(noise**2))


def synthesise():
    rng = np.random.default_rng(SEED)
    n = int(round(DURATION_S * SAMPLE_RATE))
    t = np.arange(n) / SAMPLE_RATE
    f0 = true_f0(t)
    # The pitch contour continues smoothly outside the voiced span, where the envelope is zero.
    f0_smooth = true_f0(np.clip(t, ONSET_S, OFFSET_S))
    phase = 2 * np.pi * np.cumsum(f0_smooth) / SAMPLE_RATE
    voice = np.zeros(n)
    max_harmonic = int(HARMONIC_FADE_HZ[1] // F0_START_HZ) + 2
    for k in range(1, max_harmonic + 1):
        fk = k * f0_smooth
        amplitude = formant_gain(fk) * harmonic_fade(fk) / k
        voice += amplitude * np.sin(k * phase)
    envelope = amplitude_envelope(t)
    voice *= envelope
    voice_rms = np.sqrt(np.mean(voice[envelope > 0.5] ** 2))
    # Breath follows the voice, with a little extra in the attack (a breathy onset).
    breath_envelope = np.maximum(envelope, 0.6 * raised_cosine((t - ONSET_S + 0.05) / 0.05) * (1 - envelope))
    breath_envelope *= (t <= OFFSET_S)
    breath = BREATH_LEVEL * voice_rms * breath_envelope * breath_noise(rng, n)
    signal = voice + breath
    signal *= PEAK / np.max(np.abs(signal))
    signal += 10 ** (NOISE_FLOOR_DBFS / 20) * rng.standard_normal(n)
    pcm = np.clip(np.round(signal * 32767), -32768, 32767).astype("<i2")
    return pcm, f0


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(here), "assets", "examples"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    pcm, _ = synthesise()
    wav_path = os.path.join(args.out, "sung-vowel.wav")
    with wave.open(wav_path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.tobytes())

    grid = np.arange(int(round(DURATION_S * 100)) + 1) / 100.0  # 10 ms
    f0 = true_f0(grid)
    csv_path = os.path.join(args.out, "sung-vowel.f0.csv")
    with open(csv_path, "w", newline="\n") as f:
        f.write("time,frequency\n")
        for time, freq in zip(grid, f0):
            f.write(f"{time:.3f},{freq:.3f}\n")
    print(f"wrote {wav_path} ({len(pcm)} samples, {os.path.getsize(wav_path)} bytes) and {csv_path}")


if __name__ == "__main__":
    main()
