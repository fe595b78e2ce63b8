"""Pre-render generated songs into a chunk cache (rendering is slower than training reads).

  nohup nice -n 10 /usr/bin/python3 -m training.data.render_cache --out /work/cache/data \
      --valid-songs 24 --train-songs 100000 > /work/logs/render.log 2>&1 &

Layout: <out>/<split>/s<seed>_<i>.npy, float16 [4 stems (drums, bass, other, vocals), 2, frames] at
44.1 kHz, plus <out>/<split>/index.jsonl (one meta line per chunk; "acc": true marks MIR-1K
karaoke chunks whose 'other' holds the whole accompaniment). Resumable: existing chunks are skipped.
The valid split is rendered first (fixed seeds 0..valid_songs-1, held-out singers and songs).
Never point this at ../shared/eval: it only reads ../shared/train.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from .generator import STEMS, render_song


def render_split(out: str, split: str, seeds: range, seconds: float, chunk: float, vocals: bool = True) -> None:
    d = os.path.join(out, split)
    os.makedirs(d, exist_ok=True)
    idx = open(os.path.join(d, "index.jsonl"), "a")
    n_chunks = int(seconds // chunk)
    for seed in seeds:
        last = os.path.join(d, f"s{seed}_{n_chunks - 1}.npy")
        if os.path.exists(last):
            continue
        t = time.time()
        try:
            song = render_song(seed, split, seconds, vocals=vocals)
        except Exception as e:  # a broken source file must not stop the stream
            print(json.dumps({"seed": seed, "split": split, "error": repr(e)}), flush=True)
            continue
        arr = np.stack([song[s] for s in STEMS]).astype(np.float16)  # [4, 2, T]
        L = int(chunk * 44100)
        for i in range(n_chunks):
            p = os.path.join(d, f"s{seed}_{i}.npy")
            np.save(p + ".tmp.npy", arr[:, :, i * L:(i + 1) * L])
            os.replace(p + ".tmp.npy", p)
            meta = dict(song["meta"], file=os.path.basename(p))
            idx.write(json.dumps(meta) + "\n")
        idx.flush()
        print(json.dumps({"seed": seed, "split": split, "sec": round(time.time() - t, 2)}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/work/cache/data")
    ap.add_argument("--valid-songs", type=int, default=24)
    ap.add_argument("--train-start", type=int, default=0)
    ap.add_argument("--train-songs", type=int, default=100000)
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--chunk", type=float, default=6.0)
    ap.add_argument("--no-vocals", action="store_true",
                    help="accompaniments only (no MIR-1K): data for the instrumental splitter")
    a = ap.parse_args()
    v = not a.no_vocals
    render_split(a.out, "valid", range(a.valid_songs), a.seconds, a.chunk, v)
    render_split(a.out, "train", range(a.train_start, a.train_start + a.train_songs), a.seconds, a.chunk, v)


if __name__ == "__main__":
    main()
