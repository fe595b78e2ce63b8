"""Real-accompaniment training items (data/dataset.sample_real_karaoke) with and without the
teacher's pseudo-stems (data/pseudo_stems.py), on a tiny pool written here."""
import json
import os

import numpy as np

from data.dataset import CACHE_STEMS, ChunkCache, sample_real_karaoke
from data.soundtracks import SoundtrackPool

SR = 44100


def make_cache(root):
    d = os.path.join(root, "data", "train")
    os.makedirs(d)
    rng = np.random.default_rng(1)
    x = np.zeros((4, 2, 3 * SR), dtype=np.float16)
    x[CACHE_STEMS.index("vocals")] = (0.1 * rng.standard_normal((2, 3 * SR))).astype(np.float16)
    np.save(os.path.join(d, "s0_0.npy"), x)
    with open(os.path.join(d, "index.jsonl"), "w") as f:
        f.write(json.dumps({"file": "s0_0.npy"}) + "\n")
    return ChunkCache(os.path.join(root, "data"), "train")


def make_pool(root, labelled: bool):
    d = os.path.join(root, "pool")
    os.makedirs(d)
    rng = np.random.default_rng(2)
    stems = (0.05 * rng.standard_normal((3, 2, 4 * SR))).astype(np.float16)
    np.save(os.path.join(d, "pkg__a.npy"), stems.astype(np.float32).sum(0).astype(np.float16))
    if labelled:
        np.save(os.path.join(d, "pkg__a.stems.npy"), stems)
    with open(os.path.join(d, "index.json"), "w") as f:
        json.dump([{"file": "pkg__a.npy", "package": "pkg", "licence": "test", "seconds": 4.0}], f)
    return SoundtrackPool(d)


def test_pseudo_items_fill_all_four_stems_and_sum_to_the_mix(tmp_path):
    cache, pool = make_cache(str(tmp_path)), make_pool(str(tmp_path), labelled=True)
    assert pool.has_stems()
    x, acc = sample_real_karaoke(cache, pool, SR, np.random.default_rng(0), pseudo=True)
    assert x.shape == (4, 2, SR) and acc is False   # a full 4-stem item, not karaoke
    for s in CACHE_STEMS:
        assert np.sqrt(np.mean(x[CACHE_STEMS.index(s)] ** 2)) > 1e-4, s
    # the three instrument stems differ (drawn from the teacher's split, each with its own gain)
    d, b = x[CACHE_STEMS.index("drums")], x[CACHE_STEMS.index("bass")]
    assert np.abs(d - b).max() > 1e-3


def test_without_pseudo_the_accompaniment_is_all_in_other(tmp_path):
    cache, pool = make_cache(str(tmp_path)), make_pool(str(tmp_path), labelled=False)
    assert not pool.has_stems()
    x, acc = sample_real_karaoke(cache, pool, SR, np.random.default_rng(0))
    assert acc is True
    assert np.abs(x[CACHE_STEMS.index("drums")]).max() == 0 and np.abs(x[CACHE_STEMS.index("bass")]).max() == 0
    assert np.abs(x[CACHE_STEMS.index("other")]).max() > 0


def test_pool_picks_up_pseudo_stems_written_later(tmp_path):
    pool = make_pool(str(tmp_path), labelled=False)
    assert not pool.has_stems()
    a = np.load(os.path.join(pool.root, "pkg__a.npy")).astype(np.float32)
    np.save(os.path.join(pool.root, "pkg__a.stems.npy"), np.stack([a, 0 * a, 0 * a]).astype(np.float16))
    pool.refresh()
    assert pool.has_stems()
    y = pool.excerpt_stems(SR, np.random.default_rng(3))
    assert y.shape == (3, 2, SR) and np.abs(y[1:]).max() == 0


def test_labelling_order_spans_every_package_first():
    from data.pseudo_stems import interleave_packages
    files = ["warzone__a.npy", "warzone__b.npy", "warzone__c.npy", "blupi__a.npy", "hyper__a.npy", "hyper__b.npy"]
    order = interleave_packages(files)
    assert sorted(order) == sorted(files)
    assert {f.split("__")[0] for f in order[:3]} == {"warzone", "blupi", "hyper"}
