#!/usr/bin/env python3
"""Reference figures of museval's full BSS Eval v4 (512-tap-style distortion filters, here 32 taps)
on small deterministic synthetic signals, for test/cli/metrics.test.ts (bssEvalV4).
Run: /work/cache/e2/venv/bin/python test/cli/museval_synthetic.py   (museval 0.4.1, see museval_check.py)
The signals are rebuilt bit-for-bit in the TypeScript test (xorshift32 noise)."""
import json
import numpy as np
from museval import metrics

M32 = 0xFFFFFFFF


def noise(seed, n):
    x = seed & M32
    out = np.empty(n)
    for i in range(n):
        x ^= (x << 13) & M32
        x ^= x >> 17
        x ^= (x << 5) & M32
        out[i] = x / 4294967296.0 - 0.5
    return out


def signals():
    nsrc, nchan, n = 3, 2, 5000
    refs = np.zeros((nsrc, n, nchan))
    for j in range(nsrc):
        for c in range(nchan):
            refs[j, :, c] = noise(1000 + 10 * j + c, n)
    ests = np.zeros_like(refs)
    for j in range(nsrc):
        k = (j + 1) % nsrc
        for c in range(nchan):
            other = np.concatenate([np.zeros(3), refs[k, :-3, c]])  # next source, 3 samples late
            cross = refs[j, :, 1 - c]  # channel leakage
            ests[j, :, c] = 0.8 * refs[j, :, c] + 0.3 * other + 0.2 * cross + 0.1 * noise(5000 + 10 * j + c, n)
    return refs, ests


refs, ests = signals()
sdr, isr, sir, sar, _ = metrics.bss_eval(refs, ests, window=2000, hop=1500, compute_permutation=False,
                                         filters_len=32, framewise_filters=False, bsseval_sources_version=False)
print(json.dumps({k: np.round(v, 6).tolist() for k, v in [('sdr', sdr), ('isr', isr), ('sir', sir), ('sar', sar)]}))
