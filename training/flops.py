#!/usr/bin/env python3
"""Count multiply-accumulates of each model's ONNX graph (one segment) and report GFLOP
(= 2·MAC) per second of stereo audio, counting the segment overlap (0.25) like the engine.

  /usr/bin/python3 training/flops.py [--config small|paper] [arch ...]

Counted: Conv1d/2d, ConvTranspose1d/2d, Linear, LSTM (4 gates · (in + hidden) · hidden per
step and direction), BSRNN's per-band linears, MSTFA's attention products. Element-wise ops,
norms and softmax are not counted (they are memory-bound; see bench_ort.mjs for time).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from models import ARCHS, build_model  # noqa: E402


def count_macs(model, x):
    macs = [0]

    def conv(m, inp, out):
        k = 1
        for s in m.kernel_size:
            k *= s
        if isinstance(m, (nn.ConvTranspose1d, nn.ConvTranspose2d)):
            macs[0] += inp[0].numel() * k * m.out_channels // m.groups
        else:
            macs[0] += out.numel() * k * m.in_channels // m.groups

    def linear(m, inp, out):
        macs[0] += out.numel() * m.in_features

    def lstm(m, inp, out):
        x = inp[0]
        steps_batch = x.shape[0] * x.shape[1]
        h = m.hidden_size
        dirs = 2 if m.bidirectional else 1
        size = m.input_size
        for _ in range(m.num_layers):
            macs[0] += steps_batch * dirs * 4 * h * (size + h)
            size = h * dirs

    def band_linear(m, inp, out):
        macs[0] += out.numel() * m.weight.shape[-1]

    def attention(m, inp, out):
        b, ch, f, t = inp[0].shape
        rows, length = (f, t) if m.axis == "time" else (t, f)
        macs[0] += 2 * b * m.heads * rows * length * length * m.d

    hooks = []
    for mod in model.modules():
        name = type(mod).__name__
        if isinstance(mod, (nn.Conv1d, nn.Conv2d, nn.ConvTranspose1d, nn.ConvTranspose2d)):
            hooks.append(mod.register_forward_hook(conv))
        elif isinstance(mod, nn.Linear):
            hooks.append(mod.register_forward_hook(linear))
        elif isinstance(mod, nn.LSTM):
            hooks.append(mod.register_forward_hook(lstm))
        elif name == "BandLinear":
            hooks.append(mod.register_forward_hook(band_linear))
        elif name == "AxisAttention":
            hooks.append(mod.register_forward_hook(attention))
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return macs[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="small")
    ap.add_argument("--overlap", type=float, default=0.25)
    ap.add_argument("archs", nargs="*", default=ARCHS)
    a = ap.parse_args()
    for arch in a.archs:
        m = build_model(arch, a.config).eval()
        shape = m.input_shape(1)
        x = torch.rand(*shape)
        macs = count_macs(m, x)
        seconds = m.segment * (1 - a.overlap) / 44100
        print(f"{arch:18s} {a.config}: {macs / 1e9:7.2f} GMAC per {m.segment / 44100:.2f}-s segment, "
              f"{2 * macs / 1e9 / seconds:6.2f} GFLOP per second of stereo audio")


if __name__ == "__main__":
    main()
