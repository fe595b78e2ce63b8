"""Choose how spleeter-2stems fills the band above bin 1024 (≈ 11 kHz), measured on held-out
generated songs (training/data, split "valid"; never ../shared/eval).

    /usr/bin/python3 training/spleeter/highband.py --checkpoint <.../2stems/model> [--songs 16] [--json out.json]

Per song: the two U-Nets run once (whole-track STFT 4096/1024 with the engine's reflect padding,
512-frame chunks), then every candidate vocals-mask extension is applied (accompaniment =
mixture − vocals, as the bundled model's residual). Scores, in dB: whole-song SDR of vocals and
accompaniment, and the SDR of the band above bin 1024 (STFT bins ≥ 1024 of reference and
estimate) for both. Songs whose vocals are silent are skipped. The generated vocals are MIR-1K
singing (16 kHz) whose upper band is synthesised by data.generator.bandwidth_extend plus an
"air" shelf: a stand-in for real vocal air, not a recording of it.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from models.spleeter import MODEL_BINS, N_FFT, HOP, Spleeter2Stems, extend_vocals_mask  # noqa: E402

CANDIDATES = [("zeros", {}), ("average", {}), ("top-mean", {"top_bins": 16}), ("top-mean", {"top_bins": 64}),
              ("top-mean", {"top_bins": 128}), ("top-mean", {"top_bins": 256}), ("top-mean", {"top_bins": 384}),
              ("top-mean", {"top_bins": 512}), ("top-mean", {"top_bins": 768}), ("last-bin", {})]


def label(ext, kw):
    return ext + (f"-{kw['top_bins']}" if "top_bins" in kw else "")


def sdr(ref, est):
    dt = np.complex128 if np.iscomplexobj(ref) or np.iscomplexobj(est) else np.float64
    ref = np.asarray(ref, dt)
    err = ref - np.asarray(est, dt)
    return float(10 * np.log10((np.sum(np.abs(ref) ** 2) + 1e-12) / (np.sum(np.abs(err) ** 2) + 1e-12)))


def spec(x):
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    win = torch.hann_window(N_FFT, periodic=True)
    return torch.stft(t, N_FFT, HOP, window=win, center=True, pad_mode="reflect", return_complex=True).numpy()


def load_songs(n, cache_dir, first_seed=0, seconds=12.0):
    from data.generator import render_song
    os.makedirs(cache_dir, exist_ok=True)
    songs = []
    seed = first_seed
    while len(songs) < n:
        path = os.path.join(cache_dir, f"valid-{seed}.npz")
        if not os.path.exists(path):
            s = render_song(seed, "valid", seconds)
            np.savez(path, vocals=s["vocals"], drums=s["drums"], bass=s["bass"], other=s["other"])
        d = np.load(path)
        if np.sqrt(np.mean(d["vocals"].astype(np.float64) ** 2)) > 1e-5:
            songs.append((seed, {k: d[k] for k in ("vocals", "drums", "bass", "other")}))
        seed += 1
    return songs


@torch.no_grad()
def low_band_vocals_mask(model, mix):
    """[2, N] → (mixture STFT [2, 2049, T] complex, vocals ratio mask [1, 2, 1024, T])."""
    X = spec(mix)
    T = X.shape[-1]
    Tp = -(-T // 512) * 512
    mag = torch.nn.functional.pad(torch.from_numpy(np.abs(X)), (0, Tp - T))[None]
    masks = []
    for s in range(0, Tp, 512):
        x = mag[..., :MODEL_BINS, s:s + 512].transpose(2, 3)
        mv, _ = model.low_band_masks(x)
        masks.append(mv.transpose(2, 3))
    return X, torch.cat(masks, dim=-1)[..., :T]


def istft(Y, n):
    win = torch.hann_window(N_FFT, periodic=True)
    return torch.istft(torch.from_numpy(Y), N_FFT, HOP, window=win, center=True, length=n).numpy()


def evaluate(model, songs):
    rows = {label(e, kw): [] for e, kw in CANDIDATES}
    for seed, st in songs:
        voc = st["vocals"]
        mix = sum(st.values())
        acc = mix - voc
        n = mix.shape[-1]
        X, mv = low_band_vocals_mask(model, mix)
        V = spec(voc)
        A = spec(acc)
        for ext, kw in CANDIDATES:
            hi = extend_vocals_mask(mv, X.shape[1] - MODEL_BINS, ext, kw.get("top_bins", 64))
            M = torch.cat([mv, hi], dim=2)[0].numpy()
            Yv = M * X
            v_est = istft(Yv, n)
            a_est = mix - v_est
            rows[label(ext, kw)].append({
                "seed": seed,
                "vocals": sdr(voc, v_est), "accompaniment": sdr(acc, a_est),
                "vocals_hi": sdr(V[:, MODEL_BINS:], Yv[:, MODEL_BINS:]),
                "accompaniment_hi": sdr(A[:, MODEL_BINS:], (X - Yv)[:, MODEL_BINS:]),
                "vocals_hi_energy_db": float(10 * np.log10(np.sum(np.abs(V[:, MODEL_BINS:]) ** 2) /
                                                           np.sum(np.abs(V) ** 2) + 1e-12)),
            })
    summary = {}
    for k, r in rows.items():
        summary[k] = {m: {"mean": float(np.mean([x[m] for x in r])), "median": float(np.median([x[m] for x in r]))}
                      for m in ("vocals", "accompaniment", "vocals_hi", "accompaniment_hi")}
    return summary, rows


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True, help="TF checkpoint prefix (…/pretrained_models/2stems/model)")
    ap.add_argument("--songs", type=int, default=16)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--cache", default="/work/cache/spleeter-valid")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    model = Spleeter2Stems.from_checkpoint(a.checkpoint)
    songs = load_songs(a.songs, a.cache, a.first_seed)
    summary, rows = evaluate(model, songs)
    print(f"{len(songs)} held-out generated songs (valid seeds {[s for s, _ in songs]})")
    print(f"{'extension':14s} {'vocals':>8s} {'acc':>8s} {'voc>11k':>8s} {'acc>11k':>8s}   (mean dB; median in brackets)")
    for k, s in summary.items():
        print(f"{k:14s} " + " ".join(f"{s[m]['mean']:8.2f}" for m in ("vocals", "accompaniment", "vocals_hi", "accompaniment_hi"))
              + "   [" + " ".join(f"{s[m]['median']:.2f}" for m in ("vocals", "accompaniment", "vocals_hi", "accompaniment_hi")) + "]")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"summary": summary, "songs": rows}, f, indent=1)
    return summary


if __name__ == "__main__":
    main()
