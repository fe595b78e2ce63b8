"""Seed-deterministic generator of multitrack songs for source-separation training.

`render_song(seed, split, seconds)` → dict with 'drums', 'bass', 'other', 'vocals' (float32 [2, T],
44.1 kHz stereo, summing exactly to the mixture) and 'meta'. The same (seed, split, seconds)
always gives the same audio (all randomness comes from numpy Generators seeded from `seed`;
fluidsynth rendering is deterministic). Seeds are endless.

What a song is made of
- Arrangement: a random excerpt of a POP909 song (train/valid split by song number): its PIANO and
  BRIDGE tracks (and sometimes its MELODY played by an instrument) become "other" with random GM
  programs, plus generated chord voicings (pads, guitar strums, arpeggios, organ). Chords
  (chord_midi.txt) drive a generated bass line (roots/fifths/octaves/approach notes in one of several
  rhythmic styles, often locked to the kick). Tempo: the groove tempo is drawn in 60–200 BPM and the
  MIDI is time-scaled (factor 0.55–1.8) so its beat fits the groove (double/half-time otherwise).
  Rendered with fluidsynth + FluidR3_GM (fluidsynth's own reverb/chorus off).
- Drums: real one-shot samples from the hydrogen drum kits and sonic-pi samples, sequenced from
  16-step groove families (rock, pop, half-time, disco, funk, hip-hop, ballad, shuffle, punk, 6/8-ish
  triplets), with mutations, ghost notes, velocity layers, swing, humanised timing, hi-hat choke,
  fills into phrase boundaries, crashes on phrase starts, optional extra percussion kit.
- Vocals: real singing from MIR-1K (held-out singers for valid), one singer per song, phrases placed
  with gaps; pitch shift with formant shift by resampling (±4 semitones, sometimes ±7), independent
  time stretch via sox's WSOLA `tempo`, so pitch, formants and tempo vary jointly and separately;
  optional doubling (detuned, delayed, panned copies) and harmony-ish copy; main voice panned near
  centre. MIR-1K is band-limited to 8 kHz: we add a synthetic upper band — (a) a harmonic
  exciter (the 2.5–8 kHz band through a rectifier/tanh, high-passed at ~7.5 kHz, so voiced sounds get
  harmonics up to 20 kHz that follow the voice) and (b) envelope-driven noise (the 4–8 kHz envelope
  modulating high-passed noise) for sibilance/breath/air; levels randomised, occasionally none, so
  "vocals stop at 8 kHz" is not a usable cue.
- MIR-1K's own accompaniment mode (p≈0.08): the clip's karaoke accompaniment with its own vocal;
  the accompaniment is put in 'other' and meta['acc'] = True (drums/bass unknown: train the
  vocals + accompaniment sum only on these).
- Production per stem: random EQ, compression, stereo width, panning, level balance, a shared
  synthetic room with per-stem send levels; master: look-ahead limiter from none to heavy
  (mastered-loud) whose gain is applied to every stem (stems still sum to the mix), final level.
- Stems are sometimes absent (silence is a valid target).
"""
from __future__ import annotations

import os
import subprocess
import tempfile

import mido
import numpy as np

from . import audio as A
from . import sources as S

STEMS = ("drums", "bass", "other", "vocals")
SR = A.SR
FLUIDSYNTH = "/usr/bin/fluidsynth"
SOX = "/usr/bin/sox"

BASS_PROGRAMS = [32, 33, 33, 33, 34, 34, 35, 36, 37, 38, 39, 43]
OTHER_PROGRAMS = {
    "keys": [0, 0, 1, 2, 3, 4, 5, 6, 7],
    "organ": [16, 17, 18, 19],
    "guitar": [24, 25, 26, 27, 28, 29, 29, 30, 30, 31],
    "strings": [48, 49, 50, 51, 44, 45],
    "pad": [88, 89, 90, 91, 92, 93, 94, 95],
    "brass": [56, 57, 61, 62, 63],
    "lead": [80, 81, 82, 73, 71, 65, 66, 40, 11, 12, 8, 9, 10, 13],
}


# ---------------- helpers ----------------

def _sox(x: np.ndarray, sr: int, effects: list[str]) -> np.ndarray:
    """Run mono float32 x through sox effects (raw pipes)."""
    cmd = [SOX, "-t", "f32", "-r", str(sr), "-c", "1", "-", "-t", "f32", "-r", str(sr), "-c", "1", "-"] + effects
    out = subprocess.run(cmd, input=x.astype(np.float32).tobytes(), stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, check=True).stdout
    return np.frombuffer(out, dtype=np.float32).copy()


def _render_midi(notes: list[tuple[int, int, float, float, int]], programs: dict[int, int],
                 pans: dict[int, int], seconds: float, sf2: str, gain: float = 0.5) -> np.ndarray:
    """notes: (channel, pitch, start s, end s, vel). Returns [2, T] float32 at 44.1 kHz via fluidsynth."""
    T = int(seconds * SR)
    if not notes:
        return np.zeros((2, T), np.float32)
    tpb, tempo = 480, 500000  # 120 BPM: 1 tick = 1/960 s
    mid = mido.MidiFile(ticks_per_beat=tpb)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    tr.append(mido.MetaMessage("set_tempo", tempo=tempo, time=0))
    ev = []
    for ch, prog in programs.items():
        ev.append((0, 0, mido.Message("program_change", channel=ch, program=prog)))
        ev.append((0, 0, mido.Message("control_change", channel=ch, control=10, value=pans.get(ch, 64))))
        ev.append((0, 0, mido.Message("control_change", channel=ch, control=91, value=0)))
        ev.append((0, 0, mido.Message("control_change", channel=ch, control=93, value=0)))
    for ch, p, s, e, v in notes:
        if p < 0 or p > 127 or s >= seconds:
            continue
        s_t = int(max(0.0, s) * 960)
        e_t = max(s_t + 10, int(min(e, seconds + 1.0) * 960))
        ev.append((s_t, 2, mido.Message("note_on", channel=ch, note=int(p), velocity=int(np.clip(v, 1, 127)))))
        ev.append((e_t, 1, mido.Message("note_off", channel=ch, note=int(p), velocity=0)))
    ev.sort(key=lambda x: (x[0], x[1]))
    last = 0
    for t, _, m in ev:
        tr.append(m.copy(time=t - last))
        last = t
    with tempfile.TemporaryDirectory(prefix="sdgen") as d:
        mp = os.path.join(d, "x.mid")
        wp = os.path.join(d, "x.raw")
        mid.save(mp)
        subprocess.run([FLUIDSYNTH, "-ni", "-q", "-R", "0", "-C", "0", "-o", "synth.dynamic-sample-loading=1", "-g", str(gain), "-r", str(SR),
                        "-T", "raw", "-O", "float", "-F", wp, sf2, mp],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        raw = np.fromfile(wp, dtype=np.float32)
    y = raw.reshape(-1, 2).T
    out = np.zeros((2, T), np.float32)
    n = min(T, y.shape[1])
    out[:, :n] = y[:, :n]
    return out


def _place(buf: np.ndarray, x: np.ndarray, start: int, gain: float = 1.0) -> None:
    if start >= buf.shape[1] or start + x.shape[1] <= 0:
        return
    a = max(0, -start)
    s = max(0, start)
    n = min(buf.shape[1] - s, x.shape[1] - a)
    buf[:, s:s + n] += gain * x[:, a:a + n]


# ---------------- drums ----------------

# 16-step patterns (one bar of 4/4 in 16ths). 'x' hit, 'o' accent-less/ghost.
GROOVES = {
    "rock": dict(k="x.......x.x.....", s="....x.......x...", h="x.x.x.x.x.x.x.x."),
    "rock2": dict(k="x..x..x...x.....", s="....x.......x...", h="x.x.x.x.x.x.x.x."),
    "pop16": dict(k="x.....x...x.....", s="....x.......x...", h="xxxxxxxxxxxxxxxx"),
    "half": dict(k="x.........x.....", s="........x.......", h="x.x.x.x.x.x.x.x."),
    "disco": dict(k="x...x...x...x...", s="....x.......x...", h="..x...x...x...x.", open=True),
    "funk": dict(k="x..x..x...x..x..", s="....x..o.o..x..o", h="xxxxxxxxxxxxxxxx"),
    "hiphop": dict(k="x......x.x......", s="....x.......x...", h="x.x.x.x.x.x.x.x.", swing=True),
    "ballad": dict(k="x.......x.......", s="....x.......x...", h="x.x.x.x.x.x.x.x.", stick=True),
    "shuffle": dict(k="x.....x.x.......", s="....x.......x...", h="x..xx..xx..xx..x", swing=True),
    "punk": dict(k="x.x.x.x.x.x.x.x.", s="....x.......x...", h="x.x.x.x.x.x.x.x."),
    "fourfloor": dict(k="x...x...x...x...", s="....x.......x...", h="xxxxxxxxxxxxxxxx"),
    "trap": dict(k="x......x..x.....", s="........x.......", h="xxxxxxxxxxxxxxxx"),
}


def _pick_sample(piece: S.Piece, vel: float, rng: np.random.Generator) -> np.ndarray:
    n = len(piece.layers)
    i = int(np.clip(round(vel * (n - 1) + rng.normal(0, 0.5)), 0, n - 1)) if n > 1 else 0
    x = A.decode_cached(piece.layers[i])
    return x


def render_drums(rng: np.random.Generator, seconds: float, beat: float, t0: float, meta: dict) -> tuple[np.ndarray, list[float]]:
    """Sample-based drum performance. beat = quarter-note period (s); t0 = first downbeat (s, may be < 0)."""
    T = int(seconds * SR)
    out = np.zeros((2, T), np.float32)
    kits = [k for k in S.drum_kits() if k.kind != "percussion"]
    kit = kits[rng.integers(len(kits))]
    style = list(GROOVES)[rng.integers(len(GROOVES))]
    g = dict(GROOVES[style])
    meta.update(kit=kit.name, groove=style)

    def piece(role, fallback=None):
        ps = kit.pieces.get(role) or (kit.pieces.get(fallback) if fallback else None)
        if not ps:
            return None
        return ps[rng.integers(len(ps))]

    kick, snare = piece("kick"), piece("snare", "clap")
    hat_role = rng.choice(["hhc", "hhc", "hhc", "ride", "hhp"])
    hat = piece(hat_role, "hhc") or piece("ride")
    hho = piece("hho")
    crash = piece("crash", "ride")
    toms = list(kit.pieces.get("tom", []))
    stick = piece("stick") if g.get("stick") and rng.random() < 0.6 else None
    clap = piece("clap") if rng.random() < 0.2 else None

    def mutate(p: str, prob: float) -> str:
        return "".join(("x" if c == "." else ".") if rng.random() < prob and i % 2 == 1 else c for i, c in enumerate(p))

    kp = mutate(g["k"], 0.08)
    sp = g["s"] if rng.random() < 0.7 else mutate(g["s"], 0.05)
    hp = g["h"]
    if rng.random() < 0.2:
        hp = "x...x...x...x..."  # quarter hats
    swing = (rng.uniform(0.1, 0.33) if g.get("swing") else (rng.uniform(0, 0.15) if rng.random() < 0.25 else 0.0))
    step = beat / 4
    human = rng.uniform(0.0, 0.012)
    kick_times: list[float] = []
    bar = beat * 4
    phrase = int(rng.choice([4, 8]))
    first_bar = int(np.floor(-t0 / bar)) - 1
    nbars = int(np.ceil(seconds / bar)) + 2
    kit_pan = {"hat": rng.uniform(-0.5, 0.5), "snare": rng.uniform(-0.1, 0.1)}
    wide = rng.uniform(0.3, 1.0)
    hits: list[tuple[float, S.Piece, float, float]] = []  # time, piece, vel(0..1), pan

    for b in range(first_bar, first_bar + nbars):
        bt = t0 + b * bar
        fill = (b + 1) % phrase == 0 and rng.random() < 0.7
        fill_from = 16 - 4 * int(rng.integers(1, 3)) if fill else 16
        for i in range(16):
            t = bt + i * step + (swing * step if i % 2 == 1 else 0.0)
            t += rng.normal(0, human)
            acc = 1.0 if i % 4 == 0 else (0.8 if i % 2 == 0 else 0.6)
            if i >= fill_from and (toms or snare):
                if rng.random() < 0.8:
                    cand = toms + ([snare] if snare else [])
                    # descending toms through the fill
                    j = int((i - fill_from) / max(1, 16 - fill_from) * len(cand))
                    p = cand[min(j, len(cand) - 1)] if rng.random() < 0.7 else cand[rng.integers(len(cand))]
                    hits.append((t, p, rng.uniform(0.6, 1.0), wide * (j / max(1, len(cand) - 1) - 0.5)))
                if kp[i] == "x" and kick:
                    hits.append((t, kick, 0.9, 0.0))
                    kick_times.append(t)
                continue
            if kp[i] == "x" and kick:
                hits.append((t, kick, rng.uniform(0.75, 1.0) * acc ** 0.3, 0.0))
                kick_times.append(t)
            if sp[i] in "xo" and snare:
                p = stick if stick else snare
                v = rng.uniform(0.8, 1.0) if sp[i] == "x" else rng.uniform(0.15, 0.35)
                hits.append((t, p, v, kit_pan["snare"]))
                if clap and sp[i] == "x":
                    hits.append((t + 0.005, clap, 0.8, 0.0))
            elif snare and rng.random() < 0.04:  # ghost note
                hits.append((t, snare, rng.uniform(0.1, 0.3), kit_pan["snare"]))
            if hp[i] == "x" and hat:
                hits.append((t, hat, rng.uniform(0.4, 0.8) * acc, kit_pan["hat"] * wide))
            if g.get("open") and hp[i] == "x" and hho:
                hits.append((t, hho, 0.7, kit_pan["hat"] * wide))
            elif hho and i == 14 and rng.random() < 0.15:
                hits.append((t, hho, 0.6, kit_pan["hat"] * wide))
        if crash and (b % phrase == 0) and rng.random() < 0.7:
            hits.append((bt, crash, rng.uniform(0.7, 1.0), rng.uniform(-0.6, 0.6) * wide))

    # extra percussion layer
    if rng.random() < 0.25:
        perc_kits = [k for k in S.drum_kits() if "perc" in k.pieces]
        pk = perc_kits[rng.integers(len(perc_kits))]
        pp = pk.pieces["perc"][rng.integers(len(pk.pieces["perc"]))]
        patt = rng.choice(["x.x.x.x.x.x.x.x.", "xxxxxxxxxxxxxxxx", "..x...x...x...x.", "x..x..x...x.x..."])
        pan = rng.uniform(-0.7, 0.7)
        for b in range(first_bar, first_bar + nbars):
            for i in range(16):
                if patt[i] == "x":
                    hits.append((t0 + b * bar + i * step + rng.normal(0, human), pp, rng.uniform(0.3, 0.8), pan))
        meta["perc"] = pk.name

    hits.sort(key=lambda h: h[0])
    hat_times = [h[0] for h in hits if h[1] in (hat, piece("hhp"))]
    for t, p, v, pan in hits:
        if t < -2 or t > seconds:
            continue
        x = _pick_sample(p, v, rng)
        if p.role == "hho" and hat_times:  # choke on the next closed hat
            nxt = [ht for ht in hat_times if ht > t + 0.02]
            if nxt:
                n = int((nxt[0] - t) * SR)
                if n < x.shape[1]:
                    x = x[:, :n + 441].copy()
                    x[:, -441:] *= np.linspace(1, 0, 441, dtype=np.float32)
        gain = v ** 1.6
        if abs(pan) > 0.01:
            x = A.width(x, 1.0) * np.array([[np.cos((pan + 1) * np.pi / 4)], [np.sin((pan + 1) * np.pi / 4)]],
                                            np.float32) * np.float32(np.sqrt(2))
        _place(out, x, int(round(t * SR)), gain)
    return out, kick_times


# ---------------- bass + other (MIDI) ----------------

def _chords_out(song: S.Song, t_song0: float, k: float, seconds: float):
    """Chords mapped into output time: list of (start, end, root, pcs, bass)."""
    out = []
    for s, e, lab in song.chords:
        so, eo = (s - t_song0) * k, (e - t_song0) * k
        if eo <= -1 or so >= seconds + 1:
            continue
        c = S.parse_chord(lab)
        if c:
            out.append((so, eo, *c))
    return out


def bass_line(rng, chords, beat: float, kick_times: list[float], seconds: float):
    style = rng.choice(["whole", "eighths", "root5", "syncop", "kick", "kick", "walk", "octave"])
    notes = []
    base = int(rng.choice([28, 28, 31, 33]))  # lowest allowed pitch
    step = beat / 2
    mask = rng.random(16) < rng.uniform(0.3, 0.6)
    mask[0] = True
    for ci, (s, e, root, pcs, bpc) in enumerate(chords):
        r = base + (bpc - base) % 12
        fifth = r + 7 if r + 7 <= base + 19 else r - 5
        oct_ = r + 12
        nxt = chords[ci + 1][4] if ci + 1 < len(chords) else bpc
        if style == "whole":
            notes.append((r, s, e - 0.02, rng.integers(80, 110)))
            continue
        if style == "kick" and kick_times:
            ks = [t for t in kick_times if s - 0.01 <= t < e - 0.05]
            for j, t in enumerate(ks):
                end = ks[j + 1] if j + 1 < len(ks) else e
                notes.append((r if rng.random() < 0.85 else oct_, t, min(end, t + beat * 1.5) - 0.02, rng.integers(85, 115)))
            if ks:
                continue
        t = s
        i = 0
        while t < e - 0.04:
            if style == "eighths":
                p, d = r, step * 0.8
            elif style == "octave":
                p, d = (r if i % 2 == 0 else oct_), step * 0.6
            elif style == "root5":
                p, d = [r, fifth, oct_, fifth][i % 4], beat * 0.9
            elif style == "walk":
                target = base + (nxt - base) % 12
                seq = [r, r + (pcs[1] - pcs[0]) % 12 if len(pcs) > 1 else r + 4, fifth, target - 1 if target > r else target + 1]
                p, d = seq[i % 4], beat * 0.9
            else:  # syncop
                if not mask[i % 16]:
                    t += step / 2
                    i += 1
                    continue
                p = r if rng.random() < 0.7 else rng.choice([fifth, oct_, r + (pcs[-1] - pcs[0]) % 12])
                d = step * rng.uniform(0.4, 0.95)
            notes.append((int(p), t, min(t + d, e - 0.01), rng.integers(75, 115)))
            t += beat if style in ("root5", "walk") else (step if style != "syncop" else step / 2)
            i += 1
    return notes, style


def voicing_layer(rng, chords, beat: float, kind: str):
    """Generated chord accompaniment: pad (sustained), strum (guitar-like), arp, comp (stabs)."""
    notes = []
    center = int(rng.integers(52, 67))
    for s, e, root, pcs, _ in chords:
        v = sorted({center + ((pc - center) % 12) - (12 if rng.random() < 0.3 else 0) for pc in pcs})
        if kind == "pad":
            for p in v:
                notes.append((p, s, e, rng.integers(55, 85)))
        elif kind == "strum":
            t = s
            patts = [[1, 1, 1, 1], [1, 0.5, 0.5, 1, 0.5, 0.5], [0.5] * 8]
            patt = patts[rng.integers(len(patts))]
            i = 0
            while t < e - 0.05:
                d = patt[i % len(patt)] * beat
                up = i % 2 == 1
                for j, p in enumerate(v[::-1] if up else v):
                    notes.append((p, t + j * rng.uniform(0.005, 0.02), min(t + d, e), rng.integers(60, 100)))
                t += d
                i += 1
        elif kind == "arp":
            t, i = s, 0
            d = beat / rng.choice([2, 4])
            seq = v + v[-2:0:-1] if len(v) > 2 else v
            while t < e - 0.02:
                notes.append((seq[i % len(seq)] + 12 * int(rng.random() < 0.2), t, t + d * 0.9, rng.integers(60, 100)))
                t += d
                i += 1
        elif kind == "power":  # rock rhythm guitar: root + fifth (+ octave), palm-muted 8ths or sustained
            low = int(rng.integers(40, 52))
            octave = rng.random() < 0.6
            sustain = rng.random() < 0.35
            r = low + ((root - low) % 12)
            chord = [r, r + 7] + ([r + 12] if octave else [])
            t = s
            d = beat if sustain else beat / 2
            while t < e - 0.02:
                accent = rng.random() < 0.25
                hold = d * 0.95 if sustain or accent else d * rng.uniform(0.3, 0.6)
                vel = int(rng.integers(85, 115)) if accent else int(rng.integers(60, 95))
                for j, p in enumerate(chord):
                    notes.append((p, t + j * 0.004, min(e, t + hold), vel))
                t += d
        else:  # comp: off-beat stabs
            t = s + beat / 2
            while t < e - 0.02:
                if rng.random() < 0.75:
                    for p in v:
                        notes.append((p, t, t + beat * rng.uniform(0.2, 0.45), rng.integers(60, 100)))
                t += beat
    return notes


def render_music(rng, song: S.Song, t_song0: float, k: float, beat: float, seconds: float,
                 kick_times: list[float], meta: dict):
    """Bass and other stems from a POP909 excerpt. Times in output seconds."""
    sf2 = S.SOUNDFONTS[rng.integers(len(S.SOUNDFONTS))]
    chords = _chords_out(song, t_song0, k, seconds)
    bnotes, bstyle = bass_line(rng, chords, beat, kick_times, seconds)
    bprog = int(rng.choice(BASS_PROGRAMS))
    transpose = int(rng.integers(-5, 7))
    bass = _render_midi([(0, p + transpose, s, e, v) for p, s, e, v in bnotes], {0: bprog}, {0: 64}, seconds, sf2,
                        gain=0.6)
    meta.update(bass_program=bprog, bass_style=bstyle, transpose=transpose)

    layers = []
    ch = 0
    onotes: list[tuple[int, int, float, float, int]] = []
    programs, pans = {}, {}

    def add(kind_notes, family):
        nonlocal ch
        if ch > 8:
            return
        prog = int(rng.choice(OTHER_PROGRAMS[family]))
        programs[ch] = prog
        pans[ch] = int(np.clip(64 + rng.normal(0, 30), 0, 127))
        onotes.extend((ch, p + transpose, s, e, v) for p, s, e, v in kind_notes)
        layers.append((family, prog))
        ch += 1

    def midi_track(name, octave=0):
        out = []
        for n in song.tracks.get(name, []):
            s, e = (n.start - t_song0) * k, (n.end - t_song0) * k
            if e > -0.5 and s < seconds + 0.5:
                out.append((n.pitch + 12 * octave, s, e, n.vel))
        return out

    if rng.random() < 0.85:
        add(midi_track("PIANO"), rng.choice(["keys", "keys", "guitar", "organ", "strings"]))
    if rng.random() < 0.45:
        add(midi_track("BRIDGE"), rng.choice(["keys", "strings", "brass", "lead", "guitar"]))
    if rng.random() < 0.25:  # the sung line played by an instrument: teaches "melody ≠ voice"
        add(midi_track("MELODY", octave=int(rng.choice([-1, 0, 0, 1]))), "lead")
    n_gen = rng.choice([0, 1, 1, 2])
    for _ in range(n_gen):
        kind = rng.choice(["pad", "strum", "arp", "comp"])
        fam = {"pad": rng.choice(["strings", "pad", "organ"]), "strum": "guitar",
               "arp": rng.choice(["keys", "guitar", "lead"]), "comp": rng.choice(["keys", "guitar", "organ", "brass"])}[kind]
        add(voicing_layer(rng, chords, beat, kind), fam)
    rock = rng.random() < 0.35
    if not layers and not rock:
        add(voicing_layer(rng, chords, beat, "pad"), "pad")
    other = _render_midi(onotes, programs, pans, seconds, sf2, gain=0.5)
    if rock:
        # distorted rhythm guitar through an amp, usually double-tracked and panned wide
        gprog = int(rng.choice([25, 26, 27, 29, 29, 30, 30]))
        riff = voicing_layer(rng, chords, beat, "power")
        pans_take = [int(rng.integers(0, 25)), int(rng.integers(103, 128))] if rng.random() < 0.7 else [64]
        guit = np.zeros_like(other)
        for pan in pans_take:
            jit = [(0, p + transpose, s + rng.normal(0, 0.006), e, v) for p, s, e, v in riff]
            guit += _render_midi(jit, {0: gprog}, {0: pan}, seconds, sf2, gain=0.5)
        if A.rms(guit) > 1e-6:
            guit = A.amp(guit, rng)
            lvl = A.rms(other) if A.rms(other) > 1e-6 else A.rms(guit)
            other = other + guit * (lvl / A.rms(guit) * A.db(rng.uniform(-3, 6)))
        layers.append(("rock-guitar", gprog))
    if rock and rng.random() < 0.5:  # driven bass in rock songs
        bass = A.amp(bass, rng, drive_db=rng.uniform(4, 16))
    other = other.astype(np.float32)
    meta["other_layers"] = layers
    return bass, other


# ---------------- vocals ----------------

def bandwidth_extend(v: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Add a plausible 8–20 kHz band to a band-limited (≤ 8 kHz) mono vocal at 44.1 kHz."""
    mode = rng.random()
    if mode < 0.08:
        return v
    out = v.copy()
    # (a) harmonic exciter
    band = A.sos(v, A.butter("bandpass", [2500, 7800], 4))
    drive = rng.uniform(2, 8)
    nl = np.tanh(drive * band / (np.max(np.abs(band)) + 1e-6)) if rng.random() < 0.5 else np.abs(band)
    hi = A.sos(nl.astype(np.float32), A.butter("highpass", rng.uniform(7000, 8000), 6))
    hi = A.sos(hi, A.shelf(12000, rng.uniform(-9, 0), high=True))
    out += hi * (A.rms(band) / (A.rms(hi) + 1e-9)) * A.db(rng.uniform(-16, -3))
    # (b) envelope-driven noise: sibilance / breath / air
    env_src = A.sos(v, A.butter("bandpass", [4000, 7800], 4))
    env = np.sqrt(A.sos(env_src ** 2, A.butter("lowpass", 60, 2)).clip(0))
    noise = rng.standard_normal(v.shape[0]).astype(np.float32)
    noise = A.sos(noise, A.butter("highpass", rng.uniform(7000, 8000), 6))
    noise = A.sos(noise, A.shelf(rng.uniform(10000, 14000), rng.uniform(-12, 0), high=True))
    out += noise * env * A.db(rng.uniform(-10, 2))
    return out.astype(np.float32)


def render_vocals(rng: np.random.Generator, split: str, seconds: float, meta: dict) -> np.ndarray:
    T = int(seconds * SR)
    out = np.zeros((2, T), np.float32)
    singers = S.mir1k_by_singer(split)
    names = sorted(singers)
    singer = names[rng.integers(len(names))]
    clips = singers[singer]
    semis = rng.uniform(-4, 4) if rng.random() < 0.85 else rng.choice([-7, -6, 6, 7]) + rng.uniform(-1, 1)
    tempo = float(np.exp(rng.uniform(np.log(0.8), np.log(1.25)))) if rng.random() < 0.5 else 1.0
    meta.update(singer=singer, semitones=round(float(semis), 2), vocal_tempo=round(tempo, 3))
    mono = np.zeros(T, np.float32)
    t = rng.uniform(-2.0, 1.5) * SR
    while t < T:
        clip = clips[rng.integers(len(clips))]
        x = A.decode_cached(S.mir1k_path(clip), 16000, 1)[0]
        off = rng.integers(0, max(1, len(x) - 16000))
        x = x[off:off + int(16000 * rng.uniform(2.5, 12))]
        ratio = 2 ** (semis / 12)
        y = A.resample(x, 44100 / 16000 / ratio)  # played at 44.1 kHz: pitch & formants × ratio
        if tempo != 1.0:
            y = _sox(y, SR, ["tempo", "-s", f"{tempo:.4f}"])
        s = int(t)
        if s < 0:
            y = y[-s:]
            s = 0
        n = min(len(y), T - s)
        if n > 0:
            mono[s:s + n] += y[:n] * A.db(rng.uniform(-3, 3))
        t += len(y) + rng.uniform(0.1, 2.0) * SR
    if A.rms(mono) < 1e-5:
        return out
    mono = bandwidth_extend(mono, rng)
    if rng.random() < 0.7:  # typical vocal production: presence + air (MIR-1K is dark)
        mono = A.sos(mono, np.concatenate([A.peaking(rng.uniform(2500, 5000), rng.uniform(0, 6), 1.0),
                                           A.shelf(rng.uniform(8000, 12000), rng.uniform(0, 8), high=True)]))
    out = A.pan_mono(mono, rng.uniform(-0.15, 0.15))
    if rng.random() < 0.3:  # double tracking
        for side in (-1, 1):
            d = A.resample(mono, 2 ** (rng.uniform(-0.15, 0.15) / 12))[:T]
            dd = np.zeros(T, np.float32)
            lag = int(rng.uniform(0.008, 0.035) * SR)
            dd[lag:lag + len(d) - 0] = d[:T - lag]
            out += A.pan_mono(dd, side * rng.uniform(0.3, 0.9)) * A.db(rng.uniform(-12, -5))
        meta["double"] = True
    if rng.random() < 0.12:  # harmony-ish copy (a third/fifth up, time-locked through sox pitch)
        h = _sox(mono, SR, ["pitch", str(int(rng.choice([300, 400, 500, 700, -500])))])[:T]
        hh = np.zeros(T, np.float32)
        hh[:len(h)] = h
        out += A.pan_mono(hh, rng.uniform(-0.6, 0.6)) * A.db(rng.uniform(-14, -6))
        meta["harmony"] = True
    return out


def render_mir1k_pair(rng: np.random.Generator, split: str, seconds: float, meta: dict):
    """MIR-1K clip(s) with their own karaoke accompaniment (aligned), both [2, T]."""
    T = int(seconds * SR)
    voc = np.zeros(T, np.float32)
    acc = np.zeros(T, np.float32)
    clips = S.mir1k_clips(split)
    t = 0
    semis = rng.uniform(-2, 2)
    used = []
    while t < T:
        c = clips[rng.integers(len(clips))]
        used.append(c)
        v = A.resample(A.decode_cached(S.mir1k_path(c, "vocals"), 16000, 1)[0], 44100 / 16000 / 2 ** (semis / 12))
        a = A.resample(A.decode_cached(S.mir1k_path(c, "accompaniment"), 16000, 1)[0], 44100 / 16000 / 2 ** (semis / 12))
        n = min(len(v), len(a), T - t)
        voc[t:t + n] = v[:n]
        acc[t:t + n] = a[:n]
        t += n
    meta.update(mir1k_clips=used, semitones=round(float(semis), 2))
    voc = bandwidth_extend(voc, rng)
    return A.pan_mono(voc, rng.uniform(-0.1, 0.1)), A.width(A.pan_mono(acc, 0.0), 1.0)


# ---------------- song ----------------

def render_song(seed: int, split: str = "train", seconds: float = 12.0, vocals: bool = True) -> dict:
    """vocals=False renders accompaniments only (vocals stem silent, no MIR-1K karaoke songs): the
    data of the instrumental splitter, whose weights must not depend on MIR-1K (research use only)."""
    rng = np.random.default_rng([seed, 0 if split == "train" else 1])
    meta: dict = {"seed": int(seed), "split": split}
    if not vocals:
        meta["vocals"] = False
    T = int(seconds * SR)
    stems: dict[str, np.ndarray] = {}
    if vocals and rng.random() < 0.08:
        voc, acc = render_mir1k_pair(rng, split, seconds, meta)
        meta["acc"] = True
        stems = {"drums": np.zeros((2, T), np.float32), "bass": np.zeros((2, T), np.float32),
                 "other": acc, "vocals": voc}
    else:
        songs = S.pop909_songs(split)
        song = S.load_song(songs[rng.integers(len(songs))])
        bpm = float(np.exp(rng.uniform(np.log(60), np.log(200))))
        song_beat = song.beat_period
        beat = 60.0 / bpm
        k = beat / song_beat
        while k > 1.8:  # groove much slower than the song: double-time feel
            k /= 2
        while k < 0.55:
            k *= 2
        harm_beat = song_beat * k
        # excerpt start on a downbeat with chords
        cands = [d for d in song.downbeats if any(s <= d < e and lab != "N" for s, e, lab in song.chords)]
        last = song.beats[-1] if len(song.beats) else 60.0
        cands = [d for d in cands if d + seconds / k < last] or list(song.downbeats[:1]) or [0.0]
        t_song0 = float(cands[rng.integers(len(cands))]) - rng.uniform(0, 2 * song_beat)
        t0 = (float(song.downbeats[np.searchsorted(song.downbeats, t_song0)] if np.searchsorted(song.downbeats, t_song0) < len(song.downbeats) else t_song0) - t_song0) * k
        meta.update(song=song.sid, bpm=round(bpm, 1), time_scale=round(k, 3))
        drums, kick_times = render_drums(rng, seconds, beat, t0, meta)
        # bass/other follow the song's beat (scaled); the groove's beat is beat (== harm_beat or ×2/÷2)
        bass, other = render_music(rng, song, t_song0, k, harm_beat, seconds, kick_times, meta)
        voc = render_vocals(rng, split, seconds, meta) if vocals else np.zeros((2, T), np.float32)
        stems = {"drums": drums, "bass": bass, "other": other, "vocals": voc}

    # ---- production ----
    ir = A.reverb_ir(rng)
    levels = {"drums": rng.normal(0, 3), "bass": rng.normal(-2, 3), "other": rng.normal(-1, 3), "vocals": rng.normal(1, 3)}
    absent = {s: rng.random() < p for s, p in {"drums": 0.06, "bass": 0.06, "other": 0.04, "vocals": 0.1}.items()}
    if all(absent.values()):
        absent["other"] = False
    for name in STEMS:
        x = stems[name]
        if absent[name] or A.rms(x) < 1e-6:
            stems[name] = np.zeros((2, T), np.float32)
            continue
        x = A.random_eq(x, rng, 0.7 if name != "vocals" else 1.0)
        x = A.compress(x, rng)
        if name != "bass":
            x = A.width(x, rng.uniform(0.5, 1.4) if name != "vocals" else rng.uniform(0.0, 1.0))
        send = A.db(rng.uniform(-30, -8)) if name != "bass" else A.db(rng.uniform(-40, -20))
        x = x + send * A.convolve(x, ir)
        if name == "vocals" and rng.random() < 0.25:  # slap/eighth delay
            d = int(SR * rng.uniform(0.08, 0.4))
            y = np.zeros_like(x)
            y[:, d:] = x[:, :-d] * A.db(rng.uniform(-20, -10))
            x = x + y[::-1] if rng.random() < 0.5 else x + y
        x = x * (A.db(-20 + levels[name]) / A.rms(x))
        stems[name] = x.astype(np.float32)
    mix = sum(stems.values())
    # master: from untouched to mastered-loud
    loud = rng.random()
    peak = float(np.max(np.abs(mix))) + 1e-9
    if loud > 0.3:
        drive = A.db(rng.uniform(0, 12) * loud)
        gain = A.limiter_gain(mix * (drive / peak), 0.98)
        scale = drive / peak
        for n in STEMS:
            stems[n] = stems[n] * scale * gain[None, :]
        mix = sum(stems.values())
        peak = float(np.max(np.abs(mix))) + 1e-9
    final = A.db(rng.uniform(-18, -0.3)) / peak
    for n in STEMS:
        stems[n] = (stems[n] * final).astype(np.float32)
    meta["master_loudness"] = round(float(loud), 3)
    if rng.random() < 0.5:
        for n in STEMS:
            stems[n] = stems[n][::-1].copy()
    stems["meta"] = meta
    return stems
