"""Vocal leakage on real instrumental music: how much of a song without vocals a model calls vocals.

    nice -n 5 /usr/bin/python3 training/spleeter/leakage.py [--model spleeter-2stems --model spleeter-demucs-v1]
        [--start 30 --seconds 30] [FILE …] [--json out.json]

Inputs (default: DEFAULT_TRACKS, instrumental game soundtracks packaged by Debian: real, produced
music with no singing) are cut to one excerpt each with ffmpeg (44.1 kHz stereo float WAV,
from --start s, or from duration − --seconds when the track is shorter), separated by
`stemdeck separate` (the real engine, --threads 1), and the vocals stem is compared to the
excerpt. Per excerpt, in dB: `whole` = 10·log10(Σ vocals² / Σ mixture²) over the excerpt, and over
its 1-s frames (frames where the mixture is below −50 dBFS RMS are skipped) the `median` and the
`worst` (largest) frame ratio. −∞ would be perfect; 0 dB means everything was called vocals.
Nothing here is used to train or tune a model.
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from engine_sweep import SR, read_wav, separate  # noqa: E402

# One excerpt per track, several composers; Debian packages (licences in the model card):
# singularity-music, warzone2100-music, hyperrogue-music, nexuiz-music, ufoai-music. ARCHIVE!MEMBER
# names a file inside a zip archive (the .pk3 files of nexuiz-music and ufoai-music).
DEFAULT_TRACKS = [
    "/usr/share/games/singularity/music/A New Journey.ogg",
    "/usr/share/games/singularity/music/Awakening.ogg",
    "/usr/share/games/singularity/music/Enemy Unknown.ogg",
    "/usr/share/games/singularity/music/Through Space.ogg",
    "/usr/share/games/warzone2100/music/albums/original_soundtrack/track1.opus",
    "/usr/share/games/warzone2100/music/albums/legacy_soundtrack/track5.opus",
    "/usr/share/games/warzone2100/music/albums/aftermath_soundtrack/track17.opus",
    "/usr/share/hyperrogue/music/hr3-caves.ogg",
    "/usr/share/hyperrogue/music/hr-domina-hunting.ogg",
    "/usr/share/hyperrogue/music/hr-savino-palace.ogg",  # (-caribbean, -ivory, -ocean: ffmpeg cannot read them)
    "/usr/share/games/nexuiz/data/music.pk3!sound/cdtracks/brainsukker.ogg",
    "/usr/share/games/nexuiz/data/music.pk3!sound/cdtracks/northern-lights.ogg",
    "/usr/share/games/ufoai/base/0music.pk3!music/Crystan-Battlescape01.ogg",
    "/usr/share/games/ufoai/base/0music.pk3!music/van_theme.ogg",
]


def exists(f):
    archive, _, member = f.partition("!")
    if not os.path.exists(archive):
        return False
    if not member:
        return True
    with zipfile.ZipFile(archive) as z:
        return member in z.namelist()


def extract(f, tmp):
    """A readable path for f: f itself, or ARCHIVE!MEMBER's member extracted into tmp."""
    archive, _, member = f.partition("!")
    if not member:
        return f
    out = os.path.join(tmp, "extracted", member.replace("/", "_"))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with zipfile.ZipFile(archive) as z, z.open(member) as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return out


def duration(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path],
                         capture_output=True, text=True, check=True).stdout
    return float(out.strip())


def excerpt(path, out, start, seconds):
    """Decode [start, start + seconds) of path to a 44.1 kHz stereo float WAV; returns the start used."""
    start = max(0.0, min(start, duration(path) - seconds))
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", f"{start:.3f}", "-t", f"{seconds:.3f}", "-i", path,
                    "-ac", "2", "-ar", str(SR), "-c:a", "pcm_f32le", out], check=True)
    return start


def db(num, den):
    return float(10 * np.log10((num + 1e-20) / (den + 1e-20)))


def leakage(mix, voc, frame=SR, floor_db=-50.0):
    """{'whole', 'median', 'worst'} vocals-to-mixture energy ratios in dB (see the module docstring)."""
    n = min(mix.shape[-1], voc.shape[-1])
    mix, voc = mix[:, :n], voc[:, :n]
    ratios = []
    for s in range(0, n - frame + 1, frame):
        em = np.sum(mix[:, s:s + frame] ** 2)
        if 10 * np.log10(em / mix[:, s:s + frame].size + 1e-20) < floor_db:
            continue
        ratios.append(db(np.sum(voc[:, s:s + frame] ** 2), em))
    return {"whole": db(np.sum(voc ** 2), np.sum(mix ** 2)),
            "median": float(np.median(ratios)) if ratios else None,
            "worst": float(np.max(ratios)) if ratios else None,
            "frames": len(ratios)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*", help=f"audio files (default: {len(DEFAULT_TRACKS)} Debian game-soundtrack tracks)")
    ap.add_argument("--model", action="append", help="model id or manifest path (repeatable; default spleeter-2stems)")
    ap.add_argument("--start", type=float, default=30.0)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    files = a.files or [f for f in DEFAULT_TRACKS if exists(f)]
    files = [g for f in files for g in (sorted(glob.glob(f)) or [f])] if a.files else files
    models = a.model or ["spleeter-2stems"]
    tmp = tempfile.mkdtemp(prefix="leakage-")
    report = {m: [] for m in models}
    try:
        clips = []
        for i, f in enumerate(files):
            clip = os.path.join(tmp, f"clip{i}.wav")
            clips.append((f, excerpt(extract(f, tmp), clip, a.start, a.seconds), clip))
        for f, start, clip in clips:
            mix = read_wav(clip)
            for m in models:
                out = os.path.join(tmp, "out")
                res, cpu = separate(clip, m, out, a.threads)
                lk = leakage(mix, read_wav(res["outputs"]["vocals"]))
                report[m].append({"file": f, "start": start, **lk, "seconds": res["seconds"], "cpu": cpu,
                                  "audio": mix.shape[-1] / SR})
                shutil.rmtree(out, ignore_errors=True)
                print(f"{m:20s} {os.path.basename(f.partition('!')[2] or f)[:28]:28s} @{start:5.1f}s  whole {lk['whole']:7.2f}  "
                      f"median {lk['median']:7.2f}  worst {lk['worst']:7.2f} dB  ({res['seconds']:.1f} s)", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nvocals energy / mixture energy, dB, {len(files)} excerpts of {a.seconds:g} s")
    summary = {}
    for m, rows in report.items():
        w = [r["whole"] for r in rows]
        audio = sum(r["audio"] for r in rows)
        summary[m] = {"whole_median": float(np.median(w)), "whole_worst": float(np.max(w)),
                      "frame_median_median": float(np.median([r["median"] for r in rows])),
                      "frame_worst": float(np.max([r["worst"] for r in rows])),
                      "xRealtimeWall": audio / sum(r["seconds"] for r in rows),
                      "xRealtimeCpu": audio / sum(r["cpu"] for r in rows)}
        s = summary[m]
        print(f"{m:20s} whole: median {s['whole_median']:.2f}, worst {s['whole_worst']:.2f}; 1-s frames: median of "
              f"medians {s['frame_median_median']:.2f}, worst {s['frame_worst']:.2f}; "
              f"{s['xRealtimeWall']:.1f}x real time (wall), {s['xRealtimeCpu']:.1f}x (CPU)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"summary": summary, "excerpts": report}, f, indent=1)
    return summary


if __name__ == "__main__":
    main()
