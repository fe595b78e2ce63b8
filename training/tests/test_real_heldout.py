"""The held-out real selection set: which tracks it takes (real_heldout_set.pick_tracks), that it never
draws on the training pool's packages, and how validate.py scores track folders."""
import json
import os

import numpy as np
import torch
from scipy.io import wavfile

from data.soundtracks import PACKAGES as TRAINING_PACKAGES
from real_heldout_set import PACKAGES as HELDOUT_PACKAGES, pick_tracks
from validate import eval_track_folders, read_track_folders, sdr

SR = 44100


def test_pick_tracks_spreads_over_the_sorted_list_and_is_deterministic():
    names = [f"t{i:02d}.ogg" for i in range(20)][::-1]
    got = pick_tracks(names, 4)
    assert got == ["t00.ogg", "t05.ogg", "t10.ogg", "t15.ogg"]
    assert pick_tracks(names, 4) == got
    assert pick_tracks(names[:3], 4) == sorted(names[:3])


def test_heldout_packages_are_not_in_the_training_pool():
    assert set(HELDOUT_PACKAGES).isdisjoint(TRAINING_PACKAGES)


class HalfEach(torch.nn.Module):
    """Returns half the mixture as 'vocals' and half as 'drums' (a fixed, known estimate)."""
    stems = ["vocals", "drums"]
    segment = SR

    def separate(self, mix):
        return torch.stack([mix * 0.5, mix * 0.5], dim=1), {}


def write_track(root, name, stems, meta=True):
    d = os.path.join(root, name)
    os.makedirs(d)
    for k, v in stems.items():
        wavfile.write(os.path.join(d, f"{k}.wav"), SR, np.ascontiguousarray(v.T))
    wavfile.write(os.path.join(d, "mixture.wav"), SR, np.ascontiguousarray(sum(stems.values()).T))
    if meta:
        with open(os.path.join(d, "meta.json"), "w") as f:
            json.dump({"name": name}, f)


def test_track_folders_are_scored_per_stem_over_whole_tracks(tmp_path):
    rng = np.random.default_rng(0)
    v = (0.1 * rng.standard_normal((2, 3 * SR))).astype(np.float32)
    d = (0.05 * rng.standard_normal((2, 3 * SR))).astype(np.float32)
    write_track(str(tmp_path), "a", {"vocals": v, "drums": d})
    write_track(str(tmp_path), "b", {"vocals": d, "drums": v})
    write_track(str(tmp_path), ".partial.tmp", {"vocals": v, "drums": d})
    write_track(str(tmp_path), "no-meta", {"vocals": v, "drums": d}, meta=False)
    tracks = read_track_folders(str(tmp_path))
    assert [n for n, _ in tracks] == ["a", "b"]
    res = eval_track_folders(HalfEach(), tracks)
    half = 0.5 * (v + d)
    want_vocals = np.mean([sdr(v, half), sdr(d, half)])
    assert abs(res["vocals"] - want_vocals) < 0.01
    assert abs(res["drums"] - want_vocals) < 0.01   # symmetric by construction
    assert abs(res["avg"] - want_vocals) < 0.01
