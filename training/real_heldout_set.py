#!/usr/bin/env python3
"""Render the held-out REAL model-selection set: real produced music from two Debian soundtracks that
no model trains on (nexuiz-music, ufoai-music; data/soundtracks.py's training pool holds four other
packages), under held-out generated vocals, as track folders for `stemdeck eval --dataset` and for
`training/validate.py --real-set` / `train.py --valid-real`.

    nice -n 5 /usr/bin/python3 training/real_heldout_set.py [--out /work/cache/real-heldout] \
        [--per-package 6] [--seconds 20]

Why: the held-out generated set did not predict real music (BSRNN's held-out generated average rose
1.38 → 2.34 dB while its drums on real music fell), so checkpoints are chosen on real production.

Each item (`<package>-<track>/`):
- accompaniment: a --seconds excerpt of one track (starting at 40 % of it), decoded from the
  package's .pk3 (a zip) at 44.1 kHz stereo;
- drums / bass / other: the accompaniment split by the teacher (demucs-instrumental-v1 through
  Stemdeck's CLI, as data/pseudo_stems.py), its residual 'other' making them sum to the
  accompaniment. These three targets are the teacher's estimates: scores on them measure agreement
  with the teacher on real music (useful to rank students; not an absolute quality);
- vocals: the vocal stem of a held-out generated song (`render_song(seed, "valid")`: held-out MIR-1K
  singers), exact, at 6 dB below to level with the accompaniment's RMS (drawn per item, fixed seed);
- mixture.wav = vocals + drums + bass + other (float32 WAV), meta.json written last.

Tracks are spread evenly over each package's sorted track list; the choice, levels and seeds are
deterministic. This set is for choosing among checkpoints and models. It is NOT ../shared/eval,
which is for reporting only.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

TRAINING = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(TRAINING)
sys.path.insert(0, TRAINING)

from heldout_set import STEMS, refuse_shared_eval, rms, write_track_folder, write_wav  # noqa: E402

SR = 44100
TEACHER = "demucs-instrumental-v1"
# package → (pk3 archive, folder of its music inside, licence per /usr/share/doc/<package>/copyright)
PACKAGES = {
    "nexuiz-music": ("/usr/share/games/nexuiz/data/music.pk3", "sound/cdtracks/",
                     "GPL-2+ (© 2002-2009 Alientrap, Lee Vermeulen)"),
    "ufoai-music": ("/usr/share/games/ufoai/base/0music.pk3", "music/",
                    "GPL-2+ / CC-BY-SA-3.0 / CC-BY-3.0 per track (© The UFO:AI Team and others)"),
}
MIN_TRACK_SECONDS = 40.0


def pick_tracks(names: list[str], n: int) -> list[str]:
    """n names spread evenly over the sorted list (deterministic)."""
    names = sorted(names)
    if len(names) <= n:
        return names
    return [names[int(i * len(names) / n)] for i in range(n)]


def decode_member(archive: str, member: str, tmp: str) -> np.ndarray:
    from data.audio import decode
    path = os.path.join(tmp, os.path.basename(member))
    with zipfile.ZipFile(archive) as z, open(path, "wb") as f:
        f.write(z.read(member))
    try:
        return decode(path)
    finally:
        os.remove(path)


def teacher_split(wavs: list[str], out: str, threads: int) -> dict[str, dict]:
    """{basename of input: {stem: path}} from one `stemdeck separate` call with the teacher."""
    cmd = ["node", os.path.join(REPO, "bin", "stemdeck.js"), "separate", *wavs, "--model", TEACHER,
           "--out", out, "--format", "wav", "--threads", str(threads), "--json"]
    res = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True, check=True)
    lines = [json.loads(x) for x in res.stdout.splitlines() if x.startswith("{")]
    return {os.path.basename(x["input"]): x["outputs"] for x in lines if "outputs" in x}


def held_out_vocals(seed: int, seconds: float) -> tuple[np.ndarray, int]:
    """[2, frames] vocals of the first held-out generated song from `seed` on whose vocals are audible."""
    from data.generator import render_song
    while True:
        s = render_song(seed, "valid", seconds)
        v = np.asarray(s["vocals"], np.float32)
        mix = sum(np.asarray(s[k], np.float64) for k in STEMS)
        if rms(v) > 0 and 20 * np.log10(rms(v) / max(rms(mix), 1e-12)) > -30:
            return v, seed
        seed += 1


def render(out: str, per_package: int = 6, seconds: float = 20.0, threads: int = 2, first_seed: int = 501) -> list[str]:
    os.makedirs(out, exist_ok=True)
    n = int(seconds * SR)
    items, todo = [], []
    with tempfile.TemporaryDirectory(prefix="real-heldout-") as tmp:
        seed = first_seed
        for pkg, (archive, folder, licence) in PACKAGES.items():
            if not os.path.exists(archive):
                raise SystemExit(f"{archive} missing: apt-get install -y {pkg}")
            with zipfile.ZipFile(archive) as z:
                names = [m for m in z.namelist() if m.startswith(folder) and m.endswith(".ogg")]
            for member in pick_tracks(names, per_package * 2):   # spares for tracks too short
                if sum(1 for it in items if it["package"] == pkg) >= per_package:
                    break
                name = f"{pkg}-{os.path.splitext(os.path.basename(member))[0]}"
                a = decode_member(archive, member, tmp)
                if a.shape[-1] < MIN_TRACK_SECONDS * SR:
                    continue
                o = int(0.4 * a.shape[-1])
                acc = np.ascontiguousarray(a[:, o:o + n])
                item = {"name": name, "package": pkg, "source": f"{archive}:{member}", "licence": licence,
                        "offset_seconds": round(o / SR, 2), "seconds": seconds}
                items.append(item)
                if os.path.exists(os.path.join(out, name, "meta.json")):   # complete: keep it
                    seed += 10   # vocals may skip a few seeds: keep items' songs apart
                    continue
                wav = os.path.join(tmp, name + ".wav")
                write_wav(wav, acc)
                todo.append((item, wav, acc, seed))
                seed += 10
        if todo:
            split = teacher_split([w for _, w, _, _ in todo], os.path.join(tmp, "out"), threads)
            from scipy.io import wavfile
            for item, wav, acc, s in todo:
                stems = {}
                for k in ("drums", "bass", "other"):
                    _, y = wavfile.read(split[os.path.basename(wav)][k])
                    stems[k] = y.T.astype(np.float32)
                    assert stems[k].shape == acc.shape, (item["name"], k, stems[k].shape, acc.shape)
                voc, used_seed = held_out_vocals(s, seconds)
                voc = voc[:, :n]
                rng = np.random.default_rng(used_seed)
                level_db = float(rng.uniform(-6, 0))
                stems["vocals"] = voc * np.float32(rms(acc) / max(rms(voc), 1e-9) * 10 ** (level_db / 20))
                write_track_folder(out, item["name"], stems, dict(item, teacher=TEACHER, vocals_seed=used_seed,
                                                                  vocals_db_re_accompaniment=round(level_db, 2)))
                print(f"{item['name']}: written", flush=True)
    with open(os.path.join(out, "real-heldout.json"), "w") as f:
        json.dump({"items": items, "teacher": TEACHER, "packages": {p: v[2] for p, v in PACKAGES.items()},
                   "note": "model selection only; drums/bass/other are teacher estimates; ../shared/eval is report-only"},
                  f, indent=1)
    return [it["name"] for it in items]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="/work/cache/real-heldout")
    ap.add_argument("--per-package", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)
    refuse_shared_eval(a.out)
    names = render(a.out, a.per_package, a.seconds, a.threads)
    print(f"{len(names)} items in {a.out}")


if __name__ == "__main__":
    main()
