"""Real produced instrumental music (Debian's game soundtracks) as real *accompaniments*.

They have no stems, but an instrumental mix is exactly what sits under a singer: mixed under a
vocal stem it gives a real vocals/accompaniment pair, trained with a loss on (vocals, sum of the
rest) like the MIR-1K karaoke items (train.py, "acc").

    /usr/bin/python3 -m training.data.soundtracks --out /work/cache/soundtracks   # decode once
    /usr/bin/python3 training/train.py ... --real-acc /work/cache/soundtracks --p-real-acc 0.3

Decoded pool: <out>/<package>__<file>.npy, float16 [2, frames] at 44.1 kHz, plus <out>/index.json
({file, package, licence, seconds}). Only packages whose music is under a free licence, as stated
in their /usr/share/doc/<package>/copyright (checked 2026-12-07):
"""
from __future__ import annotations

import argparse
import glob
import json
import os

import numpy as np

from .audio import decode

SR = 44100

# package → (glob of its music files, licence of those files per the Debian copyright file)
PACKAGES = {
    "warzone2100-music": ("/usr/share/games/warzone2100/music/**/*.opus", "GPL-2+ (© Eidos Interactive, Warzone 2100 Project)"),
    "hyperrogue-music": ("/usr/share/hyperrogue/music/*.ogg", "CC-BY-SA-3.0 (Shawn Parrotte, Lincoln Domina, Jakub Steiner and others)"),
    "singularity-music": ("/usr/share/games/singularity/music/**/*.ogg", "CC-BY-SA-3.0 (© 2007-2012 Max McCracken)"),
    "planetblupi-music-ogg": ("/usr/share/planetblupi/music/*.ogg", "GPL-3+ (Epsitec SA, Daniel Roux and others)"),
}


def find_files() -> list[tuple[str, str, str]]:
    out = []
    for pkg, (pattern, licence) in PACKAGES.items():
        for f in sorted(glob.glob(pattern, recursive=True)):
            out.append((pkg, f, licence))
    return out


def build_pool(out: str) -> list[dict]:
    os.makedirs(out, exist_ok=True)
    index = []
    for pkg, path, licence in find_files():
        name = f"{pkg}__{os.path.splitext(os.path.basename(path))[0]}.npy"
        dst = os.path.join(out, name)
        if not os.path.exists(dst):
            try:
                a = decode(path, SR, 2)
            except Exception as e:  # a broken file must not stop the pool
                print(json.dumps({"file": path, "error": repr(e)}), flush=True)
                continue
            np.save(dst + ".tmp.npy", a.astype(np.float16))
            os.replace(dst + ".tmp.npy", dst)
        frames = int(np.load(dst, mmap_mode="r").shape[-1])
        index.append({"file": name, "package": pkg, "source": path, "licence": licence,
                      "seconds": round(frames / SR, 1)})
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
    return index


class SoundtrackPool:
    """Random excerpts of the decoded pool, files weighted by length."""

    def __init__(self, root: str):
        with open(os.path.join(root, "index.json")) as f:
            self.index = json.load(f)
        self.root = root
        w = np.array([m["seconds"] for m in self.index], dtype=np.float64)
        self.p = w / w.sum()
        self.refresh()

    def refresh(self) -> None:
        """Re-scan which files have pseudo-stems (data/pseudo_stems.py may still be writing them)."""
        self.labelled = [i for i, m in enumerate(self.index) if os.path.exists(self._stems_file(m["file"]))]
        w = np.array([self.index[i]["seconds"] for i in self.labelled], dtype=np.float64)
        self.p_labelled = w / w.sum() if len(w) else w

    def excerpt(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """[2, n] float32, not silent (≥ −45 dBFS RMS), or the last try."""
        return self._pick(n, rng, stems=False)

    def has_stems(self) -> bool:
        """Some files have their pseudo-stems (data/pseudo_stems.py); excerpt_stems draws from those."""
        return len(self.labelled) > 0

    def excerpt_stems(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """[3 (drums, bass, other), 2, n] float32 pseudo-stems of one excerpt (their sum is the
        excerpt), not silent, or the last try."""
        return self._pick(n, rng, stems=True)

    def _stems_file(self, file: str) -> str:
        return os.path.join(self.root, file[:-len(".npy")] + ".stems.npy")

    def _pick(self, n: int, rng: np.random.Generator, stems: bool) -> np.ndarray:
        for _ in range(10):
            if stems:
                m = self.index[self.labelled[int(rng.choice(len(self.labelled), p=self.p_labelled))]]
            else:
                m = self.index[int(rng.choice(len(self.index), p=self.p))]
            path = self._stems_file(m["file"]) if stems else os.path.join(self.root, m["file"])
            a = np.load(path, mmap_mode="r")
            if a.shape[-1] <= n:
                continue
            o = int(rng.integers(0, a.shape[-1] - n))
            x = np.asarray(a[..., o:o + n], dtype=np.float32)
            mix = x.sum(0) if stems else x
            if np.sqrt(np.mean(mix ** 2)) > 10 ** (-45 / 20):
                return x
        return x


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/work/cache/soundtracks")
    a = ap.parse_args()
    index = build_pool(a.out)
    hours = sum(m["seconds"] for m in index) / 3600
    by_pkg = {}
    for m in index:
        by_pkg[m["package"]] = by_pkg.get(m["package"], 0) + m["seconds"] / 60
    print(json.dumps({"files": len(index), "hours": round(hours, 2),
                      "minutes_by_package": {k: round(v, 1) for k, v in by_pkg.items()}}))


if __name__ == "__main__":
    main()
