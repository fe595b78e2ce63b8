#!/usr/bin/env python3
"""Validation helpers: SDR of a model on the held-out generated set, and (report only) on a real
MUSDB-style clip.

  # held-out generated chunks (held-out singers and POP909 songs), from a checkpoint:
  /usr/bin/python3 training/validate.py --arch bsrnn --checkpoint /work/cache/runs/bsrnn-small/best.pt
  # held-out REAL set (training/real_heldout_set.py), whole tracks separated as the engine does:
  /usr/bin/python3 training/validate.py --arch bsrnn --checkpoint ... --items 0 --real-set /work/cache/real-heldout
  # whole-track SDR on a .stem.mp4 (REPORTING ONLY — never train, select or tune on ../shared/eval):
  /usr/bin/python3 training/validate.py --arch bsrnn --checkpoint ... --stem-mp4 "../shared/eval/musdb18-7s/X.stem.mp4"

SDR = 10·log10((‖s‖² + ε) / (‖s − ŝ‖² + ε)), ε = 1e-7 (MDX-challenge whole-track definition),
per stem, mean over items (generated set) or one value per track (real clip).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402

EPS = 1e-7


def sdr(ref: np.ndarray, est: np.ndarray) -> float:
    num = np.sum(np.square(ref, dtype=np.float64)) + EPS
    den = np.sum(np.square(ref - est, dtype=np.float64)) + EPS
    return float(10 * np.log10(num / den))


def valid_items(cache_root: str, n_items: int, segment: int):
    """Deterministic held-out items: (stems [4,2,N] in cache order, acc flag) — centre crop of each chunk."""
    from data.dataset import ChunkCache

    c = ChunkCache(cache_root, "valid")
    items = []
    for fn in c.files[:n_items]:
        a = np.asarray(c.load(fn), dtype=np.float32)
        T = a.shape[-1]
        o = max(0, (T - segment) // 2)
        x = a[:, :, o:o + segment]
        if x.shape[-1] < segment:
            x = np.pad(x, [(0, 0), (0, 0), (0, segment - x.shape[-1])])
        mix = x.sum(0)
        r = float(np.sqrt(np.mean(mix ** 2)))
        if r < 1e-5:
            continue
        g = 10 ** ((np.clip(20 * np.log10(r), -35, -8) - 20 * np.log10(r)) / 20)
        items.append((x * np.float32(g), fn in c.acc))
    return items


def ratio_mask_refine(mix: torch.Tensor, est: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """The engine's manifest `refine` (src-main/engine/refine.ts): re-split the mixture's STFT in
    proportion to the stems' STFT magnitudes. mix [C, N], est [S, C, N] → [S, C, N]."""
    S, C, N = est.shape
    win = torch.hann_window(n_fft)
    X = torch.stft(mix, n_fft, hop, window=win, return_complex=True)  # [C, F, T]
    E = torch.stft(est.reshape(S * C, N), n_fft, hop, window=win, return_complex=True).reshape(S, C, *X.shape[-2:])
    mag = E.abs()
    total = mag.sum(0, keepdim=True)
    mask = torch.where(total > 1e-10, mag / total.clamp_min(1e-10), torch.full_like(mag, 1.0 / S))
    return torch.istft((mask * X).reshape(S * C, *X.shape[-2:]), n_fft, hop, window=win, length=N).reshape(S, C, N)


@torch.no_grad()
def separate_segments(model, mix: np.ndarray, overlap: float = 0.25, refine: tuple[int, int] | None = None) -> np.ndarray:
    """Whole-track separation with fixed segments, linear cross-fades, optional per-segment
    ratio-mask refine (n_fft, hop) as the engine does it. mix [2, T] → [S, 2, T]."""
    N = model.segment
    hop = max(1, N - int(np.floor(N * overlap + 0.5)))   # the engine's stride: N − Math.round(N·overlap)
    T = mix.shape[-1]
    n_seg = max(1, int(np.ceil(max(0, T - N) / hop)) + 1)
    padded = np.zeros((2, (n_seg - 1) * hop + N), np.float32)
    padded[:, :T] = mix
    out = np.zeros((len(model.stems), 2, padded.shape[-1]), np.float32)
    wsum = np.zeros(padded.shape[-1], np.float32)
    fade = N - hop
    w = np.ones(N, np.float32)
    if fade > 0:
        w[:fade] = np.linspace(0, 1, fade + 2, dtype=np.float32)[1:-1]
        w[-fade:] = w[:fade][::-1]
    for i in range(n_seg):
        s = i * hop
        x = torch.from_numpy(padded[None, :, s:s + N].copy())
        y, _ = model.separate(x)
        y = y[0] if refine is None else ratio_mask_refine(x[0], y[0], *refine)
        out[:, :, s:s + N] += y.numpy() * w
        wsum[s:s + N] += w
    return out[:, :, :T] / np.maximum(wsum[:T], 1e-6)


def audible(ref: np.ndarray) -> bool:
    """False for a silent target, whose SDR is undefined (such items are skipped)."""
    return bool(np.sum(ref ** 2) >= 1e-8 * ref.size)


def mean_scores(scores: dict[str, list[float]]) -> dict:
    """Per-stem mean SDR (None for a stem with no audible items) and their average."""
    res = {s: round(float(np.mean(v)), 3) if v else None for s, v in scores.items()}
    vals = [v for v in res.values() if v is not None]
    res["avg"] = round(float(np.mean(vals)), 3) if vals else None
    return res


@torch.no_grad()
def eval_generated(model, items, batch: int = 4) -> dict:
    from data.dataset import CACHE_STEMS

    scores: dict[str, list[float]] = {s: [] for s in model.stems}
    model.eval()
    for i in range(0, len(items), batch):
        group = items[i:i + batch]
        mix = torch.from_numpy(np.stack([x.sum(0) for x, _ in group]))
        est, _ = model.separate(mix)
        est = est.numpy()
        for j, (x, acc) in enumerate(group):
            for k, s in enumerate(model.stems):
                if acc and s != "vocals":
                    continue
                ref = x[CACHE_STEMS.index(s)]
                if audible(ref):
                    scores[s].append(sdr(ref, est[j, k]))
    return mean_scores(scores)


@torch.no_grad()
def eval_chunks(model, cache_root: str, n_chunks: int, refine: tuple[int, int] | None = None) -> dict:
    """Held-out generated chunks (whole 6-s chunks, not karaoke ones) separated like the engine does
    (model segments, overlap-add, optional refine): mean SDR per stem."""
    from data.dataset import CACHE_STEMS, ChunkCache

    c = ChunkCache(cache_root, "valid")
    model.eval()
    scores: dict[str, list[float]] = {s: [] for s in model.stems}
    for fn in [f for f in c.files if f not in c.acc][:n_chunks]:
        x = np.asarray(c.load(fn), dtype=np.float32)
        est = separate_segments(model, x.sum(0), refine=refine)
        for k, s in enumerate(model.stems):
            ref = x[CACHE_STEMS.index(s)]
            if audible(ref):
                scores[s].append(sdr(ref, est[k]))
    return {**mean_scores(scores), "chunks": len(scores[model.stems[0]])}


def read_track_folders(root: str) -> list[tuple[str, dict[str, np.ndarray]]]:
    """Track folders (mixture.wav + <stem>.wav, float WAV at 44.1 kHz; training/real_heldout_set.py,
    heldout_set.py) → [(name, {'mixture', stems…: [2, T] float32})], sorted by name; dot-folders skipped."""
    from scipy.io import wavfile

    out = []
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        if name.startswith(".") or not os.path.exists(os.path.join(d, "meta.json")):
            continue
        track = {}
        for f in sorted(os.listdir(d)):
            if f.endswith(".wav"):
                _, y = wavfile.read(os.path.join(d, f))
                track[f[:-4]] = np.ascontiguousarray(y.T.astype(np.float32))
        out.append((name, track))
    return out


@torch.no_grad()
def eval_track_folders(model, tracks) -> dict:
    """Whole tracks separated as the engine does (segments, overlap-add): mean SDR per stem over
    the tracks whose target is audible, and their average."""
    model.eval()
    scores: dict[str, list[float]] = {s: [] for s in model.stems}
    for _, t in tracks:
        est = separate_segments(model, t["mixture"])
        for k, s in enumerate(model.stems):
            if s in t and audible(t[s]):
                scores[s].append(sdr(t[s], est[k]))
    return mean_scores(scores)


def decode_stems(path: str, ffmpeg: str = "/usr/bin/ffmpeg") -> dict[str, np.ndarray]:
    """MUSDB .stem.mp4 → {'mixture','drums','bass','other','vocals'}: [2, T] float32 at 44.1 kHz."""
    names = ["mixture", "drums", "bass", "other", "vocals"]
    out = {}
    for i, n in enumerate(names):
        raw = subprocess.run([ffmpeg, "-v", "error", "-nostdin", "-i", path, "-map", f"0:a:{i}", "-f", "f32le",
                              "-ac", "2", "-ar", "44100", "-"], check=True, stdout=subprocess.PIPE).stdout
        out[n] = np.frombuffer(raw, np.float32).reshape(-1, 2).T.copy()
    T = min(a.shape[1] for a in out.values())
    return {k: v[:, :T] for k, v in out.items()}


def eval_track(model, path: str) -> dict:
    st = decode_stems(path)
    t = time.time()
    est = separate_segments(model, st["mixture"])
    secs = time.time() - t
    res = {s: round(sdr(st[s], est[k]), 3) for k, s in enumerate(model.stems)}
    res["floor"] = {s: round(sdr(st[s], st["mixture"]), 3) for s in model.stems}
    res["realtime_factor_torch"] = round(st["mixture"].shape[1] / 44100 / secs, 2)
    return res


def load_model(arch: str, config: str, checkpoint: str | None):
    from models import build_model

    m = build_model(arch, config)
    if checkpoint:
        ck = torch.load(checkpoint, map_location="cpu")
        m.load_state_dict(ck["model"] if isinstance(ck, dict) and "model" in ck else ck)
    m.eval()
    return m


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", required=True)
    ap.add_argument("--config", default="small")
    ap.add_argument("--checkpoint")
    ap.add_argument("--cache", default="/work/cache/data")
    ap.add_argument("--items", type=int, default=48)
    ap.add_argument("--stem-mp4", action="append", default=[])
    ap.add_argument("--real-set", help="track folders of training/real_heldout_set.py: mean SDR per stem")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--chunks", type=int, default=0,
                    help="also score this many whole held-out chunks separated as the engine does (segments, overlap-add)")
    ap.add_argument("--refine", default=None, metavar="NFFT:HOP",
                    help="with --chunks: score them with and without the ratio-mask refine")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model = load_model(a.arch, a.config, a.checkpoint)
    out = {}
    if a.items:
        out["generated_valid"] = eval_generated(model, valid_items(a.cache, a.items, model.segment))
    if a.chunks:
        out["generated_chunks"] = eval_chunks(model, a.cache, a.chunks)
        if a.refine:
            n_fft, hop = (int(v) for v in a.refine.split(":"))
            out["generated_chunks_refined"] = eval_chunks(model, a.cache, a.chunks, refine=(n_fft, hop))
    if a.real_set:
        out["real_heldout"] = eval_track_folders(model, read_track_folders(a.real_set))
    for p in a.stem_mp4:
        out[os.path.basename(p)] = eval_track(model, p)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()


# ---------------- model cards ----------------

DATA_TEXT = """\
All training audio was generated on this machine by `training/data` (seed-deterministic; see
training/data/generator.py for every choice):

- **Vocals**: real amateur singing from **MIR-1K** (MIR Lab, National Tsing Hua University;
  distributed for research use — these weights inherit that restriction). One singer per song,
  phrases with gaps; pitch+formant shift by resampling (±4 semitones, sometimes ±7), independent
  WSOLA time-stretch (sox `tempo`), doubling (detuned, delayed, panned copies), occasional
  harmony copy, panned near centre. MIR-1K is band-limited to 8 kHz: a synthetic upper band is
  added (harmonic exciter on the 2.5–8 kHz band high-passed at 7–8 kHz + envelope-following
  high-band noise for sibilance/breath), plus presence/air EQ. Singers abjones, heycat, khair are
  held out for validation. 8 % of songs are MIR-1K clips with their own karaoke accompaniment
  (trained as vocals vs. accompaniment only).
- **Bass / other**: arrangements from **POP909** MIDI (MIT, © 2020 Music X Lab): the songs'
  PIANO/BRIDGE (sometimes MELODY) tracks with random GM programs plus generated pads, strums,
  arpeggios and comping from the chord annotations; generated bass lines following the chords
  (several rhythmic styles, often locked to the kick). Rendered with fluidsynth and the
  **FluidR3_GM** soundfont (MIT, Debian fluid-soundfont-gm) or **MuseScore_General** (MIT, Debian
  musescore-general-soundfont). Since 2026-11-30, 35 % of songs also get a rock rhythm guitar
  (power chords, palm-muted eighths or sustained, usually double-tracked and panned wide) through
  an amp/cabinet simulation, and half of those a driven bass. Songs with number % 10 == 0 held out.
- **Drums**: one-shot samples of the **hydrogen-drumkits** kits (per-kit GPL-2+, CC-BY-3.0,
  CC-BY-SA-3.0 or CC0; see /usr/share/doc/hydrogen-drumkits/copyright) and **sonic-pi-samples**
  (mostly CC0, some CC-BY-SA-4.0), sequenced as 12 groove families at 60–200 BPM with fills,
  crashes, ghost notes, swing, humanisation, hi-hat choke and optional extra percussion.
- **Production/augmentation**: per-stem EQ, compression, stereo width, shared synthetic room
  with per-stem sends, vocal delay, level balance; master limiter from none to mastered-loud
  (same gain on every stem); random crops, cross-song stem remixing (50 %), per-stem gains,
  channel swap, polarity flip.
- `../shared/eval` was never used for training, data selection or tuning; it is only reported.
"""


INSTRUMENTAL_DATA_TEXT = """\
All training audio was generated on this machine by `training/data` with `render_cache --no-vocals`
(seed-deterministic; see training/data/generator.py): accompaniments only, so these weights do not
depend on MIR-1K or any other research-only data and may be used for any purpose.

- **Bass / other**: arrangements from **POP909** MIDI (MIT, © 2020 Music X Lab): the songs'
  PIANO/BRIDGE (sometimes MELODY) tracks with random GM programs plus generated pads, strums,
  arpeggios and comping from the chord annotations; generated bass lines following the chords
  (several rhythmic styles, often locked to the kick); 35 % of songs get a rock rhythm guitar through
  an amp/cabinet simulation, half of those a driven bass. Rendered with fluidsynth and the
  **FluidR3_GM** soundfont (MIT, Debian fluid-soundfont-gm) or **MuseScore_General** (MIT, Debian
  musescore-general-soundfont). POP909 songs with number % 10 == 0 are held out.
- **Drums**: one-shot samples of the **hydrogen-drumkits** kits (per-kit GPL-2+, CC-BY-3.0,
  CC-BY-SA-3.0 or CC0; see /usr/share/doc/hydrogen-drumkits/copyright) and **sonic-pi-samples**
  (mostly CC0, some CC-BY-SA-4.0), 12 groove families at 60–200 BPM with fills and humanisation.
- **No vocals, no MIR-1K karaoke songs.** In the cascade this model receives the song minus
  Spleeter's vocals; whatever vocal residue is left goes to `other` (the residual stem).
- **Not used: Debian's game soundtracks** (real instrumental music). They have no drum/bass/other
  stems, so for a drums/bass/other splitter they give no target; they are used instead to measure
  vocal leakage on real instrumental music (see the spleeter-2stems card).
- **Production/augmentation**: per-stem EQ, compression, stereo width, shared synthetic room,
  level balance; master limiter from none to mastered-loud; random crops, cross-song stem
  remixing (50 %), per-stem gains, channel swap, polarity flip.
- `../shared/eval` was never used for training, data selection or tuning; it is only reported.
"""

TRANSFER_DATA_TEXT = """\
Initialised from **Deezer's Spleeter 2stems vocals U-Net** (MIT, © Deezer SA; trained by Deezer on
its own catalogue), then fine-tuned here (encoder and BatchNorm statistics frozen) on:

- **Generated songs** (`training/data`, as the seed models): vocals from **MIR-1K** (research use
  only, MIR Lab NTHU) with a synthetic upper band, accompaniments from POP909 MIDI (MIT) rendered
  with FluidR3_GM / MuseScore_General (MIT), drums from hydrogen-drumkits / sonic-pi-samples
  (GPL-2+/CC-BY/CC-BY-SA/CC0); loss on all four stems.
- **Real instrumental music as accompaniment** (`training/data/soundtracks.py`, 30 % of items): 8.2 h
  of produced game soundtracks from Debian — warzone2100-music (GPL-2+), planetblupi-music-ogg
  (GPL-3+), singularity-music (CC-BY-SA-3.0, Max McCracken), hyperrogue-music (CC-BY-SA-3.0, Shawn
  Parrotte, Lincoln Domina and others) — mixed under generated vocal stems, 8 dB below to 2 dB above
  the accompaniment; the loss there is on vocals and on the sum of the other three stems only.
- **Distillation**: on every training mixture an extra L1 pulls our vocals magnitude towards the
  frozen Spleeter vocals net's, so the vocal skill learnt on real music is kept.
- Because of MIR-1K the weights are for **research use**; they are not the default model.
- `../shared/eval` was never used for training, data selection or tuning; it is only reported.
"""

PSEUDO_DATA_TEXT = """\
Continued (2026-12-07) from the seed trained on generated songs (below), on two kinds of items, half each:

- **Generated songs** (`training/data`): vocals from **MIR-1K** (research use only, MIR Lab NTHU)
  with a synthetic upper band, accompaniments from POP909 MIDI (MIT) rendered with FluidR3_GM /
  MuseScore_General (MIT), drums from hydrogen-drumkits / sonic-pi-samples (GPL-2+/CC-BY/CC-BY-SA/CC0).
- **Real instrumental music with pseudo-stems** (`--real-acc … --pseudo-stems`): 8.2 h of produced
  game soundtracks from Debian — warzone2100-music (GPL-2+), planetblupi-music-ogg (GPL-3+),
  singularity-music (CC-BY-SA-3.0, Max McCracken), hyperrogue-music (CC-BY-SA-3.0, Shawn Parrotte,
  Lincoln Domina and others) — split into drums / bass / other by the teacher
  **demucs-instrumental-v1** (`training/data/pseudo_stems.py`, through Stemdeck's CLI; the teacher
  was trained on generated accompaniments only), each stem scaled ±3 dB, under a generated vocal stem
  8 dB below to 2 dB above the accompaniment; the loss is the model's own on all four stems. The
  drum/bass/other targets there are the teacher's estimates, errors included: the student learns
  real production and real vocal/accompaniment contrast, not more than the teacher's instrument split.
- Because of MIR-1K the weights are for **research use**; they are not the default model.
- `../shared/eval` was never used for training, data selection or tuning; it is only reported.

The seed's data, for the record:

""" + DATA_TEXT

DATA_TEXTS = {"songs": DATA_TEXT, "instrumental": INSTRUMENTAL_DATA_TEXT, "transfer": TRANSFER_DATA_TEXT,
              "pseudo": PSEUDO_DATA_TEXT}


def _fmt(v):
    return "–" if v is None else (f"{v:.2f}" if isinstance(v, (int, float)) else str(v))


def _sessions(lines: list[dict]) -> list[str]:
    """One line per training invocation recorded in the log: its first step, batch, lr, threads."""
    out = []
    marks = [x for x in lines if "start" in x or "resume" in x]
    for i, m in enumerate(marks):
        first = m.get("step", 0)
        nxt = marks[i + 1].get("step") if i + 1 < len(marks) else max(x.get("step", 0) for x in lines if "step" in x)
        lr = f"Adam lr {m.get('lr')}" + (f" cosine-decayed to {m['lr_final']}" if m.get("lr_final") else "")
        out.append(f"steps {first}–{nxt}: batch {m.get('batch')}, training segment {(m.get('segment') or 0) / 44100:.2f} s, "
                   f"{lr}, " + (f"{m['procs']} data-parallel processes × {m.get('threads', '?')} thread" if m.get("procs", 1) > 1
                            else f"{m.get('threads', '?')} CPU thread(s)") + f" ({m.get('time', '')[:10]})")
    return out


def write_card(model_id: str, run: str, manifest_path: str, real: dict | None, out_md: str,
               logs_root: str = os.path.join(HERE, "runs"), speed: str | None = None, notes: str = "",
               data: str = "songs", exported: str = "best") -> None:
    """Model card from the run log (training/runs/<run>/log.jsonl), the manifest and the real-clip eval JSON
    (`stemdeck eval --json` output)."""
    man = json.load(open(manifest_path))
    lines = [json.loads(x) for x in open(os.path.join(logs_root, run, "log.jsonl")) if x.strip()]
    start = next((x for x in lines if "start" in x), {})
    train = [x for x in lines if "loss" in x]
    valid = [x for x in lines if "valid" in x]
    best = max(valid, key=lambda x: x["valid"].get("avg") or -1e9) if valid else None
    valid_real = [x for x in lines if "valid_real" in x]
    best_real = max(valid_real, key=lambda x: x["valid_real"].get("avg") or -1e9) if valid_real else None
    last_t = dict(train[-1]) if train else {}
    last_t["step"] = max([x.get("step", 0) for x in lines if "step" in x] or [0])
    last_t["cpu_h"] = max([x.get("cpu_h", 0) for x in lines if "cpu_h" in x] or [0])
    stems = man["stems"]
    onnx = man["files"][0]
    out = [f"# {man['name']} (`{model_id}`)", "",
           man.get("description", ""), "",
           "| | |", "| --- | --- |",
           f"| architecture | {man['architecture']} (io `{man['io']}`) |",
           f"| parameters | {man['params']:,} |",
           f"| ONNX | {onnx['path']}, {onnx['bytes'] / 1e6:.1f} MB |",
           f"| segment | {man['segment']['samples']} samples ({man['segment']['samples'] / 44100:.2f} s), overlap {man['segment']['overlap']} |",
           ("| STFT | n_fft {nFft}, hop {hop}, {window}, centred, {bins} bins |".format(**man["stft"]) if man.get("stft")
            else "| STFT | none (waveform model) |"),
           f"| trained | {man['trained']} |",
           f"| licence | {man['license']} |", "",
           "## Training", "",
           f"- Steps: {last_t.get('step', 0)} in all; CPU time {last_t.get('cpu_h', 0):.2f} CPU-hours "
           f"({last_t.get('wall_h', 0):.2f} wall-hours on a 2-core machine, often shared with other jobs).",
           *[f"  - {sess}" for sess in _sessions(lines)],
           (f"- Exported checkpoint: best held-out average SDR, step {best['step'] if best else '–'}." if exported == "best" else
            f"- Exported checkpoint: best average SDR on the held-out real set, step {best_real['step'] if best_real else '–'} "
            "(training/real_heldout_set.py: 20-s excerpts of 12 tracks of nexuiz-music and ufoai-music, Debian soundtracks "
            "never trained on, under held-out generated vocals; their drums/bass/other targets are the teacher "
            "demucs-instrumental-v1's split, so those scores measure agreement with it)." if exported == "best-real" else
            f"- Exported checkpoint: the last one (step {last_t.get('step', 0)}, end of the learning-rate decay), chosen before "
            "training: the held-out generated set does not represent the real half of the training items."),
           f"- Log: training/runs/{run}/log.jsonl; command: see training/train.py.", "",
           "## Training data and licences", "", DATA_TEXTS[data],
           "## Results", "",
           "Whole-track SDR (dB; 10·log10(‖s‖²/‖s−ŝ‖²)).", "",
           "| | " + " | ".join(stems) + " | avg |", "|---" * (len(stems) + 2) + "|"]
    if best:
        v = best["valid"]
        held = "held-out-song" if data == "instrumental" else "held-out-singer/held-out-song"
        last_v = valid[-1]
        if exported == "best-real" and best_real:   # the generated set's line logged with the exported step
            last_v = next((x for x in valid if x["step"] == best_real["step"]), last_v)
        if exported in ("last", "best-real") and last_v is not best:
            out.append(f"| held-out generated set (exported step {last_v['step']}; centre crops of {held} chunks) | "
                       + " | ".join(_fmt(last_v['valid'].get(s)) for s in stems) + f" | {_fmt(last_v['valid'].get('avg'))} |")
        out.append(f"| held-out generated set (best step {best['step']}; centre crops of {held} chunks) | "
                   + " | ".join(_fmt(v.get(s)) for s in stems) + f" | {_fmt(v.get('avg'))} |")
    if best_real:
        out.append(f"| held-out real set (exported step {best_real['step']}; 12 real soundtrack excerpts, teacher targets "
                   "for drums/bass/other) | " + " | ".join(_fmt(best_real['valid_real'].get(s)) for s in stems)
                   + f" | {_fmt(best_real['valid_real'].get('avg'))} |" if exported == "best-real" else
                   f"| held-out real set (best step {best_real['step']}) | " + " | ".join(_fmt(best_real['valid_real'].get(s)) for s in stems)
                   + f" | {_fmt(best_real['valid_real'].get('avg'))} |")
    if real:
        st = real.get("stems", {})
        vals = [st.get(s, {}).get("sdr") for s in stems]
        ok = [x for x in vals if x is not None]
        out.append("| real clip: MUSDB18 7-s preview, `stemdeck eval` sdr | " + " | ".join(_fmt(x) for x in vals)
                   + f" | {_fmt(sum(ok) / len(ok) if ok else None)} |")
        vals = [st.get(s, {}).get("csdr") for s in stems]
        out.append("| real clip, csdr (museval-style median of 1-s frames) | " + " | ".join(_fmt(x) for x in vals) + " | |")
        vals = [st.get(s, {}).get("floor") for s in stems]
        out.append("| real clip, mixture as estimate (floor) | " + " | ".join(_fmt(x) for x in vals) + " | |")
        vals = [st.get(s, {}).get("oracle") for s in stems]
        out.append("| real clip, oracle ideal ratio mask (ceiling) | " + " | ".join(_fmt(x) for x in vals) + " | |")
    out.append("")
    if speed:
        out += [f"Speed: {speed}", ""]
    out += ["## Limitations", "", notes or (
        "Trained for a tiny fraction of a CPU-hour on synthetic mixtures: expect weak separation on real "
        "music. The accompaniment is General-MIDI rendering and one-shot drum samples, far from real "
        "recorded/produced instruments (distorted guitars, live kits, real bass amps); MIR-1K vocals are "
        "amateur, Mandarin, 16 kHz recordings with a synthetic upper band."), ""]
    with open(out_md, "w") as f:
        f.write("\n".join(out))
