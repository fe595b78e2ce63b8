"""Small audio toolbox for the training-data generator (numpy/scipy only).

Conventions: audio is float32, shape [channels, frames], 44.1 kHz unless a function says
otherwise. Gains are linear unless a name ends in _db.
"""
from __future__ import annotations

import functools
import subprocess
from fractions import Fraction

import numpy as np
from scipy import signal

SR = 44100
FFMPEG = "/usr/bin/ffmpeg"


def decode(path: str, sr: int = SR, channels: int = 2) -> np.ndarray:
    """Decode any file ffmpeg reads to float32 [channels, frames] at `sr`."""
    out = subprocess.run(
        [FFMPEG, "-v", "error", "-nostdin", "-i", path, "-f", "f32le", "-ac", str(channels),
         "-ar", str(sr), "-"],
        check=True, stdout=subprocess.PIPE).stdout
    a = np.frombuffer(out, dtype=np.float32)
    return a.reshape(-1, channels).T.copy()


@functools.lru_cache(maxsize=768)
def decode_cached(path: str, sr: int = SR, channels: int = 2) -> np.ndarray:
    a = decode(path, sr, channels)
    a.setflags(write=False)
    return a


def resample(x: np.ndarray, ratio: float) -> np.ndarray:
    """Resample along the last axis so len(out) ≈ len(x)·ratio (polyphase, anti-aliased)."""
    f = Fraction(ratio).limit_denominator(160)
    if f.numerator == f.denominator:
        return x.astype(np.float32, copy=True)
    return signal.resample_poly(x, f.numerator, f.denominator, axis=-1).astype(np.float32)


def db(x: float) -> float:
    return float(10 ** (x / 20))


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)) + 1e-12))


# ---------- RBJ biquads (sos form) ----------

def _biquad(b, a):
    b = np.asarray(b, dtype=np.float64) / a[0]
    a = np.asarray(a, dtype=np.float64) / a[0]
    return np.concatenate([b, a])[None, :]


def peaking(f0: float, gain_db: float, q: float, sr: int = SR):
    A = 10 ** (gain_db / 40)
    w = 2 * np.pi * min(f0, sr * 0.45) / sr
    al = np.sin(w) / (2 * q)
    return _biquad([1 + al * A, -2 * np.cos(w), 1 - al * A], [1 + al / A, -2 * np.cos(w), 1 - al / A])


def shelf(f0: float, gain_db: float, high: bool, sr: int = SR):
    A = 10 ** (gain_db / 40)
    w = 2 * np.pi * min(f0, sr * 0.45) / sr
    al = np.sin(w) / 2 * np.sqrt(2)
    c = np.cos(w)
    s = 2 * np.sqrt(A) * al
    if high:
        b = [A * ((A + 1) + (A - 1) * c + s), -2 * A * ((A - 1) + (A + 1) * c), A * ((A + 1) + (A - 1) * c - s)]
        a = [(A + 1) - (A - 1) * c + s, 2 * ((A - 1) - (A + 1) * c), (A + 1) - (A - 1) * c - s]
    else:
        b = [A * ((A + 1) - (A - 1) * c + s), 2 * A * ((A - 1) - (A + 1) * c), A * ((A + 1) - (A - 1) * c - s)]
        a = [(A + 1) + (A - 1) * c + s, -2 * ((A - 1) + (A + 1) * c), (A + 1) + (A - 1) * c - s]
    return _biquad(b, a)


def butter(kind: str, f, order: int = 4, sr: int = SR):
    return signal.butter(order, f, btype=kind, fs=sr, output="sos")


def sos(x: np.ndarray, s) -> np.ndarray:
    return signal.sosfilt(s, x, axis=-1).astype(np.float32)


def random_eq(x: np.ndarray, rng: np.random.Generator, amount: float = 1.0) -> np.ndarray:
    """Random tonal balance: low shelf, high shelf, 1–2 peaks, optional high-pass."""
    filters = [
        shelf(rng.uniform(80, 300), rng.normal(0, 3 * amount), high=False),
        shelf(rng.uniform(3000, 10000), rng.normal(0, 3 * amount), high=True),
    ]
    for _ in range(rng.integers(1, 3)):
        filters.append(peaking(np.exp(rng.uniform(np.log(150), np.log(8000))), rng.normal(0, 3 * amount),
                               rng.uniform(0.5, 2.5)))
    y = sos(x, np.concatenate(filters, axis=0))
    if rng.random() < 0.3:
        y = sos(y, butter("highpass", rng.uniform(20, 120), 2))
    return y


def compress(x: np.ndarray, rng: np.random.Generator, strength: float | None = None) -> np.ndarray:
    """Feed-forward RMS compressor (stereo linked). strength 0 = off, 1 = heavy."""
    s = rng.uniform(0, 1) if strength is None else strength
    if s < 0.1:
        return x
    ratio = 1 + 7 * s
    tc = rng.uniform(0.005, 0.06)
    a = np.exp(-1 / (tc * SR))
    p = signal.lfilter([1 - a], [1, -a], np.mean(np.square(x), axis=0))
    lvl = 10 * np.log10(np.maximum(p, 1e-10))
    thr = 10 * np.log10(np.mean(np.square(x)) + 1e-10) + rng.uniform(-6, 6) - 3 * s
    gr = np.minimum(0, (thr - lvl) * (1 - 1 / ratio))
    ar = np.exp(-1 / (rng.uniform(0.03, 0.2) * SR))
    gr = signal.lfilter([1 - ar], [1, -ar], gr)
    y = x * (10 ** (gr / 20))[None, :]
    return (y * (rms(x) / max(rms(y), 1e-9))).astype(np.float32)  # make-up gain to the input RMS


def pan_mono(m: np.ndarray, pan: float) -> np.ndarray:
    """Constant-power pan of a mono [frames] signal; pan in [-1, 1]."""
    th = (pan + 1) * np.pi / 4
    return np.stack([m * np.cos(th), m * np.sin(th)]).astype(np.float32) * np.float32(np.sqrt(2))


def width(x: np.ndarray, w: float) -> np.ndarray:
    """Mid/side width: 0 = mono, 1 = unchanged, >1 wider."""
    mid = (x[0] + x[1]) / 2
    side = (x[0] - x[1]) / 2 * w
    return np.stack([mid + side, mid - side]).astype(np.float32)


def reverb_ir(rng: np.random.Generator, rt60: float | None = None) -> np.ndarray:
    """Synthetic stereo room: pre-delay, a few early reflections, decaying filtered noise tail."""
    rt60 = rng.uniform(0.2, 2.5) if rt60 is None else rt60
    n = int(SR * min(rt60 * 1.1, 3.0))
    t = np.arange(n) / SR
    noise = rng.standard_normal((2, n)).astype(np.float32)
    noise = sos(noise, butter("lowpass", rng.uniform(3000, 14000), 2))
    tail = noise * np.exp(-6.9 * t / rt60)[None, :]
    onset = np.minimum(1, t / rng.uniform(0.005, 0.03))
    tail *= onset[None, :]
    pre = int(SR * rng.uniform(0.0, 0.04))
    ir = np.zeros((2, n + pre), np.float32)
    ir[:, pre:] = tail
    for _ in range(rng.integers(2, 7)):
        d = int(SR * rng.uniform(0.003, 0.05))
        ir[rng.integers(0, 2), d] += rng.uniform(0.2, 0.8) * rng.choice([-1, 1])
    return ir / np.sqrt(np.sum(ir ** 2) / 2)


def convolve(x: np.ndarray, ir: np.ndarray) -> np.ndarray:
    """Stereo x [2, T] through stereo IR [2, N] → [2, T] (tail cut)."""
    T = x.shape[1]
    out = signal.fftconvolve(x, ir, axes=-1)[:, :T]
    return out.astype(np.float32)


def limiter_gain(mix: np.ndarray, thr: float, release: float = 0.08, lookahead: float = 0.004) -> np.ndarray:
    """Per-frame gain [T] (≤ 1) of a look-ahead peak limiter driven by `mix` [2, T].

    Applying the same gain to every stem keeps stems summing to the limited mix.
    """
    from scipy.ndimage import maximum_filter1d, minimum_filter1d

    la = max(1, int(lookahead * SR))
    peak = maximum_filter1d(np.max(np.abs(mix), axis=0), size=2 * la + 1)
    g = np.minimum(1.0, thr / np.maximum(peak, 1e-9))
    a = np.exp(-1 / (release * SR))
    # smooth upward (release) while keeping the instantaneous minimum (attack inside look-ahead)
    gs = signal.lfilter([1 - a], [1, -a], g - 1.0) + 1.0
    gs = np.minimum(gs, minimum_filter1d(g, size=2 * la + 1))
    return gs.astype(np.float32)


def amp(x: np.ndarray, rng: np.random.Generator, drive_db: float | None = None) -> np.ndarray:
    """Guitar/bass amp + cabinet: tight high-pass, pre-emphasis, asymmetric soft clipping, cabinet
    low-pass (3–6.5 kHz) with a mid scoop. x [2, frames] float32 at 44.1 kHz; output at x's RMS."""
    drive = db(rng.uniform(12, 36) if drive_db is None else drive_db)
    y = sos(x, butter("highpass", rng.uniform(70, 160), 2))
    y = sos(y, peaking(rng.uniform(700, 1800), rng.uniform(3, 9), 0.8))
    y = y / (np.max(np.abs(y)) + 1e-9) * drive
    bias = rng.uniform(0, 0.3)  # asymmetry adds even harmonics, like a tube stage
    y = np.tanh(y + bias) - np.tanh(bias)
    cab = np.concatenate([butter("lowpass", rng.uniform(3000, 6500), 4),
                          peaking(rng.uniform(300, 600), -rng.uniform(0, 6), 1.0),
                          peaking(rng.uniform(1800, 3200), rng.uniform(0, 5), 1.2)], axis=0)
    y = sos(y, cab)
    return (y * (rms(x) / max(rms(y), 1e-9))).astype(np.float32)
