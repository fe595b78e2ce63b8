"""Render the held-out model-selection set: generated songs WITH vocals as track folders for
`stemdeck eval --dataset`, to choose among models (e.g. the default model).

    nice -n 5 /usr/bin/python3 training/heldout_set.py [--out /work/cache/heldout-songs] \
        [--songs 12] [--first-seed 301] [--seconds 30]
    nice -n 5 node bin/stemdeck.js eval --dataset /work/cache/heldout-songs --model ID --json

What it renders: `data.generator.render_song(seed, "valid", seconds)` for seeds first-seed,
first-seed+1, … (held-out split: held-out MIR-1K singers, held-out POP909 songs, never seen in
training) until --songs songs with audible vocals are written; a seed whose vocals are absent or
inaudible (vocals RMS below the mixture's RMS − 30 dB; the generator leaves vocals out of ~10 %
of songs) is skipped and the next seed taken. Each song is a folder `valid-<seed>/` with
`mixture.wav`, `vocals.wav`, `drums.wav`, `bass.wav`, `other.wav` (float32 WAV, 44.1 kHz,
stereo; mixture = the sum of the four stems) and `meta.json` (the generator's metadata);
`heldout.json` at the top lists the seeds used and skipped. Deterministic: the same seeds give
the same songs. Folders already complete are kept (rerunning resumes).

This set is for choosing among models and tuning engine settings. It is NOT ../shared/eval,
which is for reporting only: never tune, select or train on ../shared/eval.
"""
import argparse
import json
import os
import shutil
import sys

import numpy as np
import scipy.io.wavfile as wavfile

TRAINING = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TRAINING)

SR = 44100
STEMS = ("vocals", "drums", "bass", "other")
MIN_VOCALS_DB = -30.0  # vocals RMS relative to the mixture's RMS below which a song is skipped


def rms(x):
    return float(np.sqrt(np.mean(np.asarray(x, np.float64) ** 2)))


def write_wav(path, x):
    """x: [channels, frames] → float32 WAV (frames, channels)."""
    wavfile.write(path, SR, np.ascontiguousarray(np.asarray(x, np.float32).T))


def vocals_db(stems):
    mix = sum(np.asarray(stems[k], np.float64) for k in STEMS)
    v = rms(stems["vocals"])
    return -np.inf if v <= 0 else 20 * np.log10(v / max(rms(mix), 1e-12))


def write_track_folder(out, name, stems, meta):
    """<out>/<name>/: <stem>.wav for STEMS, mixture.wav (their sum) and meta.json, written in a
    dot-prefixed temp folder (`stemdeck eval` ignores it) renamed into place, so a folder with
    meta.json is complete."""
    d = os.path.join(out, name)
    tmp = os.path.join(out, f".{name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for k in STEMS:
        write_wav(os.path.join(tmp, f"{k}.wav"), stems[k])
    write_wav(os.path.join(tmp, "mixture.wav"), sum(np.asarray(stems[k], np.float64) for k in STEMS))
    with open(os.path.join(tmp, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1, default=str)
    shutil.rmtree(d, ignore_errors=True)
    os.rename(tmp, d)


def refuse_shared_eval(out):
    if "shared/eval" in os.path.abspath(out).replace(os.sep, "/"):
        raise SystemExit("refusing to write into shared/eval (report-only)")


def render(out, songs=12, first_seed=301, seconds=30.0):
    from data.generator import render_song
    os.makedirs(out, exist_ok=True)
    used, skipped, seed = [], [], first_seed
    while len(used) < songs:
        name = f"valid-{seed}"
        d = os.path.join(out, name)
        if os.path.exists(os.path.join(d, "meta.json")):  # written last: the folder is complete
            used.append(seed)
            print(f"{name}: kept", flush=True)
            seed += 1
            continue
        s = render_song(seed, "valid", seconds)
        vdb = vocals_db(s)
        if vdb < MIN_VOCALS_DB:
            skipped.append(seed)
            print(f"{name}: skipped (vocals {vdb:.1f} dB re mixture)", flush=True)
            seed += 1
            continue
        write_track_folder(out, name, s, dict(s.get("meta", {}), seconds=seconds, vocals_db_re_mixture=round(vdb, 2)))
        used.append(seed)
        print(f"{name}: written (vocals {vdb:.1f} dB re mixture)", flush=True)
        seed += 1
    with open(os.path.join(out, "heldout.json"), "w") as f:
        json.dump({"split": "valid", "seconds": seconds, "seeds": used, "skipped": skipped,
                   "minVocalsDbReMixture": MIN_VOCALS_DB,
                   "note": "model selection only; ../shared/eval is report-only"}, f, indent=1)
    return used, skipped


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="/work/cache/heldout-songs")
    ap.add_argument("--songs", type=int, default=12)
    ap.add_argument("--first-seed", type=int, default=301)
    ap.add_argument("--seconds", type=float, default=30.0)
    a = ap.parse_args(argv)
    refuse_shared_eval(a.out)
    used, skipped = render(a.out, a.songs, a.first_seed, a.seconds)
    print(f"{len(used)} songs in {a.out}: seeds {used}; skipped {skipped}")


if __name__ == "__main__":
    main()
