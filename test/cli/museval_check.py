#!/usr/bin/env python3
"""Cross-check of Stemdeck's cSDR (src-main/engine/metrics.ts) against the museval package.

Not part of `npm test` (it needs museval from PyPI). Set up once, outside the repo:
    /usr/bin/python3 -m venv --system-site-packages /work/cache/e2/venv
    /work/cache/e2/venv/bin/pip install "numpy<2" museval==0.4.1
Run:
    /work/cache/e2/venv/bin/python test/cli/museval_check.py [TRACK.stem.mp4] [--estimates DIR]

Decodes the MUSDB-style track with ffmpeg (streams 0 mixture, 1 drums, 2 bass, 3 other, 4 vocals,
float32 like the engine), builds estimates (the mixture itself, the oracle ideal ratio mask with
STFT 4096/1024, and optionally <DIR>/<stem>.wav from `stemdeck separate`), runs
museval.evaluate(refs, ests, win=44100, hop=44100, mode='v4') and prints per-frame SDRs, the
medians and the largest difference to the plain framewise SDR 10·log10(Σs²/Σ(s−ŝ)²).
The figures it printed are recorded in metrics.ts and test/cli/metrics.test.ts.
"""
import json
import os
import subprocess
import sys

import numpy as np

import museval

ORDER = ['vocals', 'drums', 'bass', 'other']
STREAM = {'drums': 1, 'bass': 2, 'other': 3, 'vocals': 4}
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = os.path.join(HERE, '..', '..', '..', 'shared', 'eval', 'musdb18-7s', 'Music Delta - 80s Rock.stem.mp4')


def decode(path, stream=0):
    raw = subprocess.run(['ffmpeg', '-v', 'error', '-i', path, '-map', f'0:{stream}', '-ac', '2', '-ar', '44100',
                          '-f', 'f32le', '-c:a', 'pcm_f32le', '-'], check=True, stdout=subprocess.PIPE).stdout
    return np.frombuffer(raw, dtype=np.float32).reshape(-1, 2).astype(np.float64)  # [frames, channels]


def stft(x, n=4096, h=1024):  # x [channels, frames] -> [channels, bins, frames]; periodic Hann, centred, reflect
    win = np.hanning(n + 1)[:-1]
    x = np.pad(x, ((0, 0), (n // 2, n // 2)), mode='reflect')
    nfr = 1 + (x.shape[1] - n) // h
    fr = np.stack([x[:, i * h:i * h + n] * win for i in range(nfr)], axis=-1)
    return np.fft.rfft(fr, axis=1)


def istft(z, length, n=4096, h=1024):
    win = np.hanning(n + 1)[:-1]
    fr = np.fft.irfft(z, n=n, axis=1) * win[None, :, None]
    nfr = z.shape[2]
    out = np.zeros((z.shape[0], n + h * (nfr - 1)))
    wsum = np.zeros(n + h * (nfr - 1))
    for i in range(nfr):
        out[:, i * h:i * h + n] += fr[:, :, i]
        wsum[i * h:i * h + n] += win ** 2
    out /= np.maximum(wsum, 1e-10)
    return out[:, n // 2:n // 2 + length]


def main():
    args = sys.argv[1:]
    est_dir = None
    if '--estimates' in args:
        i = args.index('--estimates')
        est_dir = args[i + 1]
        del args[i:i + 2]
    track = args[0] if args else DEFAULT
    mix = decode(track, 0)
    refs = {k: decode(track, STREAM[k]) for k in ORDER}
    length = mix.shape[0]
    x = stft(mix.T)
    power = {k: np.abs(stft(refs[k].T)) ** 2 for k in ORDER}
    total = sum(power.values()) + 1e-20
    cases = {
        'floor': {k: mix for k in ORDER},
        'oracle': {k: istft(x * power[k] / total, length).T for k in ORDER},
    }
    if est_dir:
        cases['estimates'] = {k: decode(os.path.join(est_dir, f'{k}.wav')) for k in ORDER}
    ref = np.stack([refs[k] for k in ORDER])
    report = {}
    for name, est in cases.items():
        est = np.stack([est[k] for k in ORDER])
        sdr, _isr, _sir, _sar = museval.evaluate(ref, est, win=44100, hop=44100, mode='v4')
        est = est[:, :length] if est.shape[1] >= length else np.pad(est, ((0, 0), (0, length - est.shape[1]), (0, 0)))
        nwin = sdr.shape[1]
        plain = np.array([[10 * np.log10(np.sum(ref[j, t * 44100:t * 44100 + 44100] ** 2)
                                         / np.sum((ref[j, t * 44100:t * 44100 + 44100] - est[j, t * 44100:t * 44100 + 44100]) ** 2))
                           for t in range(nwin)] for j in range(len(ORDER))])
        report[name] = {
            'frames': {k: [round(v, 4) for v in sdr[j].tolist()] for j, k in enumerate(ORDER)},
            'csdr': {k: round(float(np.nanmedian(sdr[j])), 4) for j, k in enumerate(ORDER)},
            'maxAbsDiffVsPlainFramewiseSdr': float(np.nanmax(np.abs(sdr - plain))),
        }
    print(json.dumps({'museval': museval.__version__ if hasattr(museval, '__version__') else '0.4.1',
                      'track': os.path.basename(track), **report}, indent=1))


if __name__ == '__main__':
    main()
