"""Training batches from the pre-rendered chunk cache (training/data/render_cache.py) with
on-the-fly augmentation: random crops, cross-song stem remixing, per-stem gains, channel swap,
polarity flip, level variety. Arrays: [stems, 2, frames] float32 at 44.1 kHz.
"""
from __future__ import annotations

import json
import os

import numpy as np

from .generator import STEMS

CACHE_STEMS = list(STEMS)  # order stored in the cache: drums, bass, other, vocals


class ChunkCache:
    def __init__(self, root: str, split: str):
        self.dir = os.path.join(root, split)
        self.files: list[str] = []
        self.acc: set[str] = set()
        self.refresh()

    def refresh(self) -> None:
        idx = os.path.join(self.dir, "index.jsonl")
        files, acc = [], set()
        if os.path.exists(idx):
            with open(idx) as f:
                for line in f:
                    try:
                        m = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    fn = m.get("file")
                    if fn and os.path.exists(os.path.join(self.dir, fn)):
                        files.append(fn)
                        if m.get("acc"):
                            acc.add(fn)
        self.files, self.acc = sorted(set(files)), acc

    def load(self, fn: str) -> np.ndarray:
        return np.load(os.path.join(self.dir, fn), mmap_mode="r")


def _crop(a: np.ndarray, n: int, rng: np.random.Generator, stem: int | None = None) -> np.ndarray:
    T = a.shape[-1]
    o = int(rng.integers(0, T - n + 1)) if T > n else 0
    x = a[:, :, o:o + n] if stem is None else a[stem, :, o:o + n]
    x = np.asarray(x, dtype=np.float32)
    if x.shape[-1] < n:
        pad = [(0, 0)] * (x.ndim - 1) + [(0, n - x.shape[-1])]
        x = np.pad(x, pad)
    return x


def sample_item(cache: ChunkCache, n: int, rng: np.random.Generator, p_remix: float = 0.5):
    """→ (stems [4, 2, n] in CACHE_STEMS order, acc flag)."""
    for _ in range(20):
        fn = cache.files[rng.integers(len(cache.files))]
        acc = fn in cache.acc
        if acc or rng.random() > p_remix:
            x = _crop(cache.load(fn), n, rng)
            x = x * (10 ** (rng.uniform(-3, 3, size=(4, 1, 1)) / 20)).astype(np.float32)
            if rng.random() < 0.5:
                x = x[:, ::-1]
        else:  # cross-song remix: every stem from another chunk
            parts = []
            for s in range(4):
                f2 = cache.files[rng.integers(len(cache.files))]
                while f2 in cache.acc:
                    f2 = cache.files[rng.integers(len(cache.files))]
                y = _crop(cache.load(f2), n, rng, stem=s)
                y = y * np.float32(10 ** (rng.uniform(-6, 6) / 20))
                if rng.random() < 0.5:
                    y = y[::-1]
                parts.append(y)
            x = np.stack(parts)
        if rng.random() < 0.5:
            x = -x
        mix = x.sum(0)
        r = float(np.sqrt(np.mean(mix ** 2)))
        if r < 1e-4:
            continue
        # keep mixture RMS within [-35, -8] dBFS, peaks ≤ 1
        lvl = 20 * np.log10(r)
        target = np.clip(lvl, -35, -8)
        g = 10 ** ((target - lvl) / 20)
        pk = float(np.max(np.abs(mix))) * g
        if pk > 1:
            g /= pk
        return np.ascontiguousarray(x * np.float32(g)), acc
    return np.ascontiguousarray(x), acc


def to_model_order(x: np.ndarray, stems: list[str]) -> np.ndarray:
    """[4, ...] in cache order → [len(stems), ...] in the model's stem order."""
    return np.stack([x[CACHE_STEMS.index(s)] for s in stems])


def sample_real_karaoke(cache: ChunkCache, pool, n: int, rng: np.random.Generator, pseudo: bool = False):
    """A real accompaniment (data/soundtracks.py pool) under a generated song's vocal stem:
    → (stems [4, 2, n] in CACHE_STEMS order, acc flag). Without `pseudo` the whole accompaniment
    sits in 'other' (acc=True: train on vocals and the sum of the rest); with `pseudo` its
    teacher-made drums/bass/other (data/pseudo_stems.py) fill those stems, each scaled by ±3 dB
    (acc=False: a full 4-stem item). Vocals sit 8 dB below to 2 dB above the accompaniment (RMS),
    as in produced songs."""
    vi = CACHE_STEMS.index("vocals")
    for _ in range(20):
        fn = cache.files[rng.integers(len(cache.files))]
        if fn in cache.acc:
            continue
        voc = _crop(cache.load(fn), n, rng, stem=vi)
        rv = float(np.sqrt(np.mean(voc ** 2)))
        if rv < 10 ** (-50 / 20):
            continue
        x = np.zeros((4, 2, n), dtype=np.float32)
        if pseudo:
            parts = pool.excerpt_stems(n, rng) * (10 ** (rng.uniform(-3, 3, size=(3, 1, 1)) / 20)).astype(np.float32)
            for k, s in enumerate(("drums", "bass", "other")):
                x[CACHE_STEMS.index(s)] = parts[k]
            acc = parts.sum(0)
        else:
            acc = pool.excerpt(n, rng)
            x[CACHE_STEMS.index("other")] = acc
        ra = float(np.sqrt(np.mean(acc ** 2))) + 1e-8
        voc = voc * np.float32(ra / rv * 10 ** (rng.uniform(-8, 2) / 20))
        if rng.random() < 0.5:
            voc = voc[::-1]
        x[vi] = voc
        if rng.random() < 0.5:
            x = -x
        mix = x.sum(0)
        r = float(np.sqrt(np.mean(mix ** 2)))
        lvl = 20 * np.log10(max(r, 1e-8))
        g = 10 ** ((np.clip(lvl, -35, -8) - lvl) / 20)
        pk = float(np.max(np.abs(mix))) * g
        if pk > 1:
            g /= pk
        return np.ascontiguousarray(x * np.float32(g)), not pseudo
    return sample_item(cache, n, rng)
