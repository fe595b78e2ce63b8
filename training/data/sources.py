"""Indexes of the real training material: MIR-1K singing, POP909 MIDI, drum samples.

Splits (never touch ../shared/eval):
- MIR-1K: whole singers are held out for validation (VALID_SINGERS).
- POP909: songs whose number % 10 == 0 are held out for validation.
- Drum kits / soundfont: shared by both splits (few of them; held-out music and singers
  are what the validation measures).
"""
from __future__ import annotations

import functools
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import mido
import numpy as np

SHARED = os.environ.get("STEMDECK_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
MIR1K = os.path.join(SHARED, "train", "mir-1k")
POP909 = os.path.join(SHARED, "train", "pop909")
HYDROGEN = "/usr/share/hydrogen/data/drumkits"
SONICPI = "/usr/share/sonic-pi/samples"
SOUNDFONTS = [p for p in ["/usr/share/sounds/sf2/FluidR3_GM.sf2",
                          "/usr/share/sounds/sf2/MuseScore_General.sf2",
                          "/usr/share/sounds/sf3/MuseScore_General.sf3"] if os.path.exists(p)]

VALID_SINGERS = {"abjones", "heycat", "khair"}


def split_of_singer(singer: str) -> str:
    return "valid" if singer in VALID_SINGERS else "train"


@functools.lru_cache(maxsize=None)
def mir1k_clips(split: str) -> list[str]:
    """Clip names (e.g. 'amy_1_01') of the split, sorted."""
    names = sorted(f[:-5] for f in os.listdir(os.path.join(MIR1K, "vocals")) if f.endswith(".opus"))
    return [n for n in names if split_of_singer(n.split("_")[0]) == split]


def mir1k_by_singer(split: str) -> dict[str, list[str]]:
    d: dict[str, list[str]] = {}
    for n in mir1k_clips(split):
        d.setdefault(n.split("_")[0], []).append(n)
    return d


def mir1k_path(clip: str, part: str = "vocals") -> str:
    return os.path.join(MIR1K, part, clip + ".opus")


# ---------------- POP909 ----------------

@functools.lru_cache(maxsize=None)
def pop909_songs(split: str) -> list[str]:
    ids = sorted(d for d in os.listdir(POP909) if d.isdigit())
    return [i for i in ids if (int(i) % 10 == 0) == (split == "valid")]


@dataclass
class Note:
    start: float  # seconds
    end: float
    pitch: int
    vel: int


@dataclass
class Song:
    sid: str
    tracks: dict[str, list[Note]]  # MELODY, BRIDGE, PIANO
    beats: np.ndarray  # beat times (s)
    downbeats: np.ndarray
    chords: list[tuple[float, float, str]] = field(default_factory=list)

    @property
    def beat_period(self) -> float:
        return float(np.median(np.diff(self.beats))) if len(self.beats) > 2 else 0.6


@functools.lru_cache(maxsize=64)
def load_song(sid: str) -> Song:
    d = os.path.join(POP909, sid)
    mid = mido.MidiFile(os.path.join(d, sid + ".mid"))
    names = {0: "MELODY", 1: "BRIDGE", 2: "PIANO"}
    tracks: dict[str, list[Note]] = {n: [] for n in names.values()}
    t = 0.0
    on: dict[tuple[int, int], tuple[float, int]] = {}
    for msg in mid:  # merged, time in seconds
        t += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            on[(msg.channel, msg.note)] = (t, msg.velocity)
        elif msg.type in ("note_off", "note_on"):
            k = (msg.channel, msg.note)
            if k in on:
                s, v = on.pop(k)
                tracks.get(names.get(msg.channel, "PIANO"), tracks["PIANO"]).append(Note(s, max(t, s + 0.02), msg.note, v))
    beats, downs = [], []
    with open(os.path.join(d, "beat_midi.txt")) as f:
        for line in f:
            p = line.split()
            if len(p) >= 3:
                beats.append(float(p[0]))
                if float(p[2]) > 0.5:
                    downs.append(float(p[0]))
    chords = []
    with open(os.path.join(d, "chord_midi.txt")) as f:
        for line in f:
            p = line.strip().split("\t")
            if len(p) == 3:
                chords.append((float(p[0]), float(p[1]), p[2]))
    return Song(sid, tracks, np.array(beats), np.array(downs if len(downs) > 1 else beats[::4]), chords)


NOTE_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
QUALITY = {
    "maj": [0, 4, 7], "min": [0, 3, 7], "7": [0, 4, 7, 10], "maj7": [0, 4, 7, 11], "min7": [0, 3, 7, 10],
    "sus2": [0, 2, 7], "sus4": [0, 5, 7], "sus4(b7)": [0, 5, 7, 10], "dim": [0, 3, 6], "aug": [0, 4, 8],
    "maj6": [0, 4, 7, 9], "min6": [0, 3, 7, 9], "hdim7": [0, 3, 6, 10], "dim7": [0, 3, 6, 9],
    "minmaj7": [0, 3, 7, 11], "9": [0, 4, 7, 10, 14], "maj9": [0, 4, 7, 11, 14], "min9": [0, 3, 7, 10, 14],
}
INTERVAL = {"1": 0, "b2": 1, "2": 2, "b3": 3, "3": 4, "4": 5, "b5": 6, "5": 7, "#5": 8, "b6": 8, "6": 9,
            "b7": 10, "7": 11, "9": 2}


def parse_chord(label: str) -> tuple[int, list[int], int] | None:
    """'Bb:min7/b7' → (root pc, chord pcs (absolute, root first), bass pc). None for 'N'."""
    if ":" not in label:
        return None
    root_s, q = label.split(":", 1)
    m = re.match(r"([A-G])([b#]*)", root_s)
    if not m:
        return None
    root = (NOTE_PC[m.group(1)] + m.group(2).count("#") - m.group(2).count("b")) % 12
    bass_iv = 0
    if "/" in q:
        q, inv = q.split("/", 1)
        bass_iv = INTERVAL.get(inv, 0)
    ivs = QUALITY.get(q) or QUALITY.get(re.sub(r"\(.*\)", "", q)) or [0, 4, 7]
    return root, [(root + i) % 12 for i in ivs], (root + bass_iv) % 12


# ---------------- drums ----------------

ROLE_PATTERNS = [
    ("kick", r"kick|bass ?drum|\bbd\b|bd_|drum_bass|drum_heavy_kick"),
    ("snare", r"snare|\bsd\b|sn_|rimshot"),
    ("stick", r"stick|rim click"),
    ("clap", r"clap|snap"),
    ("hho", r"(open|semi|opened|op\b|free|swish).*(hh|hat)|(hh|hat).*(open|semi|opened|op\b|free)|cymbal_open"),
    ("hhp", r"(pedal|pd\b).*|.*(hh|hat).*(pedal|pd\b)|cymbal_pedal"),
    ("hhc", r"hh|hat|cymbal_closed"),
    ("ride", r"ride"),
    ("crash", r"crash|china|splash|cymbal_hard|cymbal_soft"),
    ("tom", r"tom"),
    ("perc", r"cowbell|tamb|maraca|shaker|clave|woodblock|bongo|conga|cajon|djembe|triangle"),
]


@dataclass
class Piece:
    role: str
    name: str
    layers: list[str]  # files, ordered soft → hard where known
    pan: float = 0.0


@dataclass
class Kit:
    name: str
    pieces: dict[str, list[Piece]]
    kind: str = "acoustic"  # acoustic | electronic | percussion


def _role(name: str) -> str | None:
    n = name.lower()
    for role, pat in ROLE_PATTERNS:
        if re.search(pat, n):
            return role
    return None


@functools.lru_cache(maxsize=None)
def drum_kits() -> list[Kit]:
    kits: list[Kit] = []
    if os.path.isdir(HYDROGEN):
        for k in sorted(os.listdir(HYDROGEN)):
            path = os.path.join(HYDROGEN, k, "drumkit.xml")
            if not os.path.exists(path):
                continue
            root = ET.parse(path).getroot()
            ns = root.tag.split("}")[0] + "}" if "}" in root.tag else ""
            pieces: dict[str, list[Piece]] = {}
            for ins in root.iter(ns + "instrument"):
                nm = ins.find(ns + "name")
                name = nm.text if nm is not None and nm.text else ""
                files = []
                for layer in ins.iter(ns + "layer"):
                    fn = layer.find(ns + "filename")
                    mx = layer.find(ns + "max")
                    if fn is not None and fn.text:
                        files.append((float(mx.text) if mx is not None and mx.text else 1.0,
                                      os.path.join(HYDROGEN, k, fn.text)))
                if not files:
                    fn = ins.find(ns + "filename")
                    if fn is not None and fn.text:
                        files.append((1.0, os.path.join(HYDROGEN, k, fn.text)))
                files = [f for f in files if os.path.exists(f[1])]
                role = _role(name)
                if role and files:
                    pan = 0.0
                    pl, pr = ins.find(ns + "pan_L"), ins.find(ns + "pan_R")
                    if pl is not None and pr is not None and pl.text and pr.text:
                        pan = float(pr.text) - float(pl.text)
                    pieces.setdefault(role, []).append(Piece(role, name, [f for _, f in sorted(files)], pan))
            kind = "acoustic"
            if re.search(r"electro|electric|hard|vari", k.lower()):
                kind = "electronic"
            if "kick" not in pieces or "snare" not in pieces and "clap" not in pieces:
                kind = "percussion"
            kits.append(Kit(k, pieces, kind))
    if os.path.isdir(SONICPI):
        pieces = {}
        for f in sorted(os.listdir(SONICPI)):
            if not re.match(r"(bd_|sn_|drum_|elec_(hollow_kick|soft_kick|snare|hi_snare|lo_snare|mid_snare|filt_snare|cymbal|tick))", f):
                continue
            role = _role(f.replace("_", " ").replace(".flac", "")) or _role(f)
            if role:
                pieces.setdefault(role, []).append(Piece(role, f, [os.path.join(SONICPI, f)]))
        if pieces:
            kits.append(Kit("sonic-pi", pieces, "electronic"))
    return kits
