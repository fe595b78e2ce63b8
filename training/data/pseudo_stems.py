"""Pseudo-stems for the real soundtrack pool (data/soundtracks.py): a teacher model splits each real
accompaniment into drums / bass / other, so real produced music can train all four stems, not only
(vocals, sum of the rest). Teacher-student training on unlabelled real music; the targets are only
as good as the teacher, so the students learn real production, the teacher's errors included.

    /usr/bin/python3 -m training.data.pseudo_stems --pool /work/cache/soundtracks \
        --model demucs-instrumental-v1

The teacher runs through Stemdeck's own CLI (`bin/stemdeck.js separate`, the engine's placement and
blending) on each pool file written out as a 32-bit float WAV, so its residual 'other' makes
drums + bass + other equal the pooled audio to float32 rounding. The default teacher,
demucs-instrumental-v1, is trained without research-only data (its card), so the pseudo-stems add none.

Writes <pool>/<file>.stems.npy: float16 [3 (drums, bass, other), 2, frames] at 44.1 kHz, aligned
sample for sample with <pool>/<file>; <pool>/pseudo.json records the teacher. Resumable.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile

import numpy as np
from scipy.io import wavfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PSEUDO_STEMS = ["drums", "bass", "other"]


def stems_path(pool: str, file: str) -> str:
    return os.path.join(pool, file[:-len(".npy")] + ".stems.npy")


def label_batch(pool: str, files: list[str], model: str, threads: int) -> None:
    tmp = tempfile.mkdtemp(prefix="pseudo-")
    try:
        wavs = []
        for f in files:
            a = np.load(os.path.join(pool, f)).astype(np.float32)  # [2, frames]
            w = os.path.join(tmp, f[:-len(".npy")] + ".wav")
            wavfile.write(w, 44100, a.T)
            wavs.append(w)
        out = os.path.join(tmp, "out")
        cmd = ["node", os.path.join(REPO, "bin", "stemdeck.js"), "separate", *wavs, "--model", model,
               "--out", out, "--format", "wav", "--threads", str(threads), "--json"]
        res = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True)
        lines = [json.loads(x) for x in res.stdout.splitlines() if x.startswith("{")]
        by_input = {os.path.basename(x["input"]): x for x in lines}
        for f, w in zip(files, wavs):
            r = by_input.get(os.path.basename(w))
            if not r or "outputs" not in r:
                print(json.dumps({"file": f, "error": r}), flush=True)
                continue
            a = np.load(os.path.join(pool, f))
            stems = []
            for s in PSEUDO_STEMS:
                _, y = wavfile.read(r["outputs"][s])
                y = y.T.astype(np.float32)
                assert y.shape == a.shape, (f, s, y.shape, a.shape)
                stems.append(y)
            dst = stems_path(pool, f)
            np.save(dst + ".tmp.npy", np.stack(stems).astype(np.float16))
            os.replace(dst + ".tmp.npy", dst)
            print(json.dumps({"file": f, "seconds": round(a.shape[-1] / 44100, 1)}), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def interleave_packages(files: list[str]) -> list[str]:
    """Files in round-robin order over their packages (the "<package>__" prefix of pool names,
    data/soundtracks.py), so that a partly labelled pool (training starts before the teacher is done)
    already spans every package, not only the first in the index."""
    by_package: dict[str, list[str]] = {}
    for f in files:
        by_package.setdefault(f.split("__", 1)[0], []).append(f)
    queues = list(by_package.values())
    out = []
    while any(queues):
        for q in queues:
            if q:
                out.append(q.pop(0))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pool", default="/work/cache/soundtracks")
    ap.add_argument("--model", default="demucs-instrumental-v1")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8, help="files per CLI call (temp WAVs on disk)")
    ap.add_argument("--limit", type=int, default=None, help="label at most this many files in this run")
    a = ap.parse_args()
    with open(os.path.join(a.pool, "index.json")) as f:
        index = json.load(f)
    todo = interleave_packages([m["file"] for m in index if not os.path.exists(stems_path(a.pool, m["file"]))])
    if a.limit is not None:
        todo = todo[:a.limit]
    with open(os.path.join(a.pool, "pseudo.json"), "w") as f:
        json.dump({"teacher": a.model, "stems": PSEUDO_STEMS}, f)
    for i in range(0, len(todo), a.batch):
        label_batch(a.pool, todo[i:i + a.batch], a.model, a.threads)


if __name__ == "__main__":
    main()
