"""Measure manifest variants of a bundled model through the real engine (`stemdeck separate`) on
held-out generated songs (training/data, split "valid"; never ../shared/eval): whole-song SDR
per stem and the cost, paired (every song is separated by every variant in turn, the order
rotated from song to song, in one run on one machine).

    nice -n 5 /usr/bin/python3 training/spleeter/engine_sweep.py \
        --variant base: --variant wiener1:wienerIterations=1 --variant ov0.1:overlap=0.1 [--songs 8]

A variant is NAME:KEY=VALUE,… with KEY one of `overlap` (segment.overlap) and `wienerIterations`
(magnitude.wienerIterations); each becomes a copy of the model's manifest in a temp folder next
to a symlink to its ONNX file (unchanged, so sha256/bytes stay valid). Songs are written once as
track folders (mixture.wav, vocals.wav, drums.wav, bass.wav, other.wav; float32) under --dir.

Scores (dB): 10·log10(Σs² / Σ(s − ŝ)²) over the whole song, as `stemdeck eval`'s sdr; a 2-stem
model's accompaniment is scored against mixture − vocals. Cost per variant: the engine's own
wall seconds (`separate --json` "seconds": model load, decode, separation, writing; node start-up
excluded), and the CPU seconds of the whole `node` process (getrusage of the child; includes
node/tsx start-up, about 1 CPU-s). × real time = audio seconds / seconds.
"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.io.wavfile as wavfile

HERE = os.path.dirname(os.path.abspath(__file__))
TRAINING = os.path.dirname(HERE)
REPO = os.path.dirname(TRAINING)
sys.path.insert(0, TRAINING)

SR = 44100
STEMS = ("vocals", "drums", "bass", "other")


def read_wav(path):
    sr, x = wavfile.read(path)
    if sr != SR:
        raise ValueError(f"{path}: {sr} Hz, expected {SR}")
    x = np.asarray(x)
    if x.dtype.kind == "i":
        x = x / float(np.iinfo(x.dtype).max + 1)
    return np.asarray(x, np.float64).reshape(len(x), -1).T  # [C, N]


def write_wav(path, x):
    wavfile.write(path, SR, np.ascontiguousarray(np.asarray(x, np.float32).T))


def sdr(ref, est):
    n = min(ref.shape[-1], est.shape[-1])
    ref, est = ref[..., :n], est[..., :n]
    return float(10 * np.log10((np.sum(ref ** 2) + 1e-12) / (np.sum((ref - est) ** 2) + 1e-12)))


def render_tracks(n, out_dir, first_seed=200, seconds=30.0):
    """n held-out generated songs with audible vocals as track folders; returns their paths."""
    from data.generator import render_song
    os.makedirs(out_dir, exist_ok=True)
    paths, seed = [], first_seed
    while len(paths) < n:
        d = os.path.join(out_dir, f"valid-{seed}")
        skip = os.path.join(out_dir, f"valid-{seed}.novocals")
        if not os.path.exists(os.path.join(d, "mixture.wav")) and not os.path.exists(skip):
            s = render_song(seed, "valid", seconds)
            if np.sqrt(np.mean(np.asarray(s["vocals"], np.float64) ** 2)) <= 1e-5:
                open(skip, "w").close()
            else:
                tmp = d + ".tmp"
                os.makedirs(tmp, exist_ok=True)
                for k in STEMS:
                    write_wav(os.path.join(tmp, f"{k}.wav"), s[k])
                write_wav(os.path.join(tmp, "mixture.wav"), sum(np.asarray(s[k], np.float64) for k in STEMS))
                os.rename(tmp, d)
        if os.path.exists(os.path.join(d, "mixture.wav")):
            paths.append(d)
        seed += 1
    return paths


def parse_variant(spec):
    name, _, rest = spec.partition(":")
    kv = {}
    for item in filter(None, rest.split(",")):
        k, _, v = item.partition("=")
        if k not in ("overlap", "wienerIterations"):
            raise SystemExit(f"unknown variant key {k!r} (overlap, wienerIterations)")
        kv[k] = float(v) if k == "overlap" else int(v)
    return name or "base", kv


def variant_manifest(model_dir, kv, tmp_root, name):
    """A manifest copy with kv applied, in its own folder beside symlinks to the model's files."""
    with open(os.path.join(model_dir, "manifest.json")) as f:
        m = json.load(f)
    if "overlap" in kv:
        m["segment"]["overlap"] = kv["overlap"]
    if "wienerIterations" in kv:
        m.setdefault("magnitude", {"output": "mask"})["wienerIterations"] = kv["wienerIterations"]
    d = os.path.join(tmp_root, name)
    os.makedirs(d, exist_ok=True)
    for f in m.get("files", []):
        os.symlink(os.path.abspath(os.path.join(model_dir, f["path"])), os.path.join(d, f["path"]))
    path = os.path.join(d, "manifest.json")
    with open(path, "w") as f:
        json.dump(m, f, indent=2)
    return path


def separate(inp, model, out_dir, threads=1, stems=None, extra=()):
    """`stemdeck separate --json` on one input: (result JSON, CPU seconds of the node process)."""
    cmd = ["node", os.path.join(REPO, "bin", "stemdeck.js"), "separate", inp, "--model", model,
           "--out", out_dir, "--json", "--threads", str(threads), *extra]
    if stems:
        cmd += ["--stems", ",".join(stems)]
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
    res = json.loads([ln for ln in p.stdout.splitlines() if ln.startswith("{")][-1])
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return res, cpu


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=os.path.join(REPO, "resources", "models", "spleeter-2stems"),
                    help="model folder (with manifest.json)")
    ap.add_argument("--variant", action="append", required=True, help="NAME:KEY=VALUE,…")
    ap.add_argument("--songs", type=int, default=8)
    ap.add_argument("--first-seed", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--dir", default="/work/cache/spleeter-valid30")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    variants = [parse_variant(v) for v in a.variant]
    tracks = render_tracks(a.songs, a.dir, a.first_seed, a.seconds)
    tmp = tempfile.mkdtemp(prefix="engine-sweep-")
    rows = {name: [] for name, _ in variants}
    try:
        manifests = {name: variant_manifest(a.model, kv, tmp, name) for name, kv in variants}
        for i, t in enumerate(tracks):
            refs = {k: read_wav(os.path.join(t, f"{k}.wav")) for k in STEMS}
            mix = read_wav(os.path.join(t, "mixture.wav"))
            refs["accompaniment"] = mix - refs["vocals"]
            refs["instrumental"] = refs["accompaniment"]
            order = variants[i % len(variants):] + variants[:i % len(variants)]
            for name, _ in order:
                out = os.path.join(tmp, "out", name)
                res, cpu = separate(os.path.join(t, "mixture.wav"), manifests[name], out, a.threads)
                row = {"track": os.path.basename(t), "seconds": res["seconds"], "cpu": cpu,
                       "audio": mix.shape[-1] / SR}
                for stem, p in res["outputs"].items():
                    if stem in refs:
                        row[stem] = sdr(refs[stem], read_wav(p))
                rows[name].append(row)
                shutil.rmtree(out, ignore_errors=True)
                print(f"[{i + 1}/{len(tracks)}] {row['track']} {name:10s} "
                      + " ".join(f"{k} {v:.2f}" for k, v in row.items() if k not in ("track", "audio")), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    base = variants[0][0]
    stems = [k for k in rows[base][0] if k not in ("track", "seconds", "cpu", "audio")]
    print(f"\n{len(tracks)} held-out generated songs of {a.seconds:g} s ({', '.join(os.path.basename(t) for t in tracks)}); "
          f"--threads {a.threads}; {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, load {os.getloadavg()[0]:.1f}")
    print(f"{'variant':12s} " + " ".join(f"{s[:6]:>7s} {'Δ':>6s}" for s in stems)
          + f" {'wall s':>7s} {'xRT':>6s} {'cpu s':>7s} {'xRT/cpu':>7s}")
    summary = {}
    for name, _ in variants:
        r = rows[name]
        audio = sum(x["audio"] for x in r)
        s = {st: float(np.mean([x[st] for x in r])) for st in stems}
        d = {st: float(np.mean([x[st] - y[st] for x, y in zip(r, rows[base])])) for st in stems}
        wall = float(sum(x["seconds"] for x in r))
        cpu = float(sum(x["cpu"] for x in r))
        summary[name] = {"sdr": s, "delta": d, "wallSeconds": wall, "cpuSeconds": cpu,
                         "xRealtimeWall": audio / wall, "xRealtimeCpu": audio / cpu}
        print(f"{name:12s} " + " ".join(f"{s[st]:7.2f} {d[st]:+6.3f}" for st in stems)
              + f" {wall:7.1f} {audio / wall:6.1f} {cpu:7.1f} {audio / cpu:7.1f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"variants": dict(variants), "summary": summary, "rows": rows}, f, indent=1)
    return summary


if __name__ == "__main__":
    main()
