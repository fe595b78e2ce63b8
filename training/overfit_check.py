#!/usr/bin/env python3
"""Sanity check that an architecture learns: 40 Adam steps on one synthetic 4-source example
(a vibrato tone, gated noise bursts, a 70 Hz sine, a square wave), then SDR per source in eval
mode, in train mode (batch statistics) and after re-estimating BatchNorm statistics.

  /usr/bin/python3 training/overfit_check.py [arch ...]     (1 thread; ~1–5 min per model here)
"""
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from common.export import recalibrate_batchnorm  # noqa: E402
from models import ARCHS, build_model  # noqa: E402


def sources(n):
    t = torch.arange(n) / 44100
    v = 0.3 * torch.sin(2 * math.pi * 440 * t) * (1 + 0.5 * torch.sin(2 * math.pi * 3 * t))
    d = 0.3 * torch.randn(n, generator=torch.Generator().manual_seed(0)) * (torch.sin(2 * math.pi * 4 * t) > 0.7).float()
    b = 0.3 * torch.sin(2 * math.pi * 70 * t)
    o = 0.1 * torch.sign(torch.sin(2 * math.pi * 1200 * t))
    return torch.stack([v, d, b, o]).unsqueeze(1).repeat(1, 2, 1).unsqueeze(0)   # [1, 4, 2, n]


def sdr(ref, est):
    return [round(10 * math.log10(ref[0, i].pow(2).sum() / (ref[0, i] - est[0, i]).pow(2).sum().clamp_min(1e-12)), 1)
            for i in range(ref.shape[1])]


def main():
    torch.set_num_threads(1)
    for arch in sys.argv[1:] or ARCHS:
        torch.manual_seed(0)
        m = build_model(arch, "small", **({} if arch == "mstfa" else {"segment": 44100}))
        tg = sources(m.segment)
        mix = tg.sum(1)
        opt = torch.optim.Adam(m.parameters(), 1e-3)
        t0 = time.time()
        m.train()
        losses = []
        for _ in range(40):
            loss = m.loss(mix, tg)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        with torch.no_grad():
            m.eval()
            ev = sdr(tg, m.separate(mix)[0])
            recalibrate_batchnorm(m, [mix])
            rc = sdr(tg, m.separate(mix)[0])
        print(f"{arch}: loss {losses[0]:.4f} → {min(losses[-5:]):.4f}; SDR eval {ev}, after BN re-estimate {rc} "
              f"({time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
