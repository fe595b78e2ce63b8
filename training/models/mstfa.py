"""MSTFA — multi-scale temporal-frequency attention (Chen, Zheng, Zhang, Guo, Yu 2022).

What makes it MSTFA, kept here: a temporal-frequency attention (TFA) module that models
spectrogram correlations along TIME (self-attention over frames, one sequence per frequency
row: repeated patterns) and along FREQUENCY (self-attention over bins, one sequence per frame:
harmonic structure), each residual with positional information; and a MULTI-SCALE scheme that
applies TFA at several resolutions of the network.
Backbone and sizes are not public (*unknown* in models.md); our reading, documented:
- a residual U-Net (pre-activation residual conv blocks as in the ResUNet of Kong et al.) on
  the complex mixture spectrogram (re/im of each audio channel as input channels);
- a (4, 1) frequency patch embedding (a strided conv; 4 adjacent bins → one position) to keep
  attention affordable; the U-Net then halves F and T per level with strided convs;
- TFA blocks after the residual blocks at the levels in `attn_levels` (encoder and decoder)
  and in the bottleneck — several scales;
- TFA: BN → 1×1 conv projections to `heads` × d, sinusoidal positional encodings added along
  the attended axis, softmax(QKᵀ/√d)V, 1×1 output conv, residual; time then frequency;
- output: an unbounded complex ratio mask per source and audio channel (a (4, 1) transposed
  conv back to full resolution, added to an even split 1/S), applied to the mixture by complex
  multiplication in-graph;
- loss: L1 on the waveform + L1 on the complex spectrogram.
STFT 2048 / hop 512, 1024 bins, 256-frame segments (2.96 s).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import SeparationModel
from .resunet import ConvBlockRes


def sinusoid(length, dim):
    pos = torch.arange(length, dtype=torch.float32).unsqueeze(1)
    i = torch.arange(0, dim, 2, dtype=torch.float32)
    div = torch.exp(-math.log(10000.0) * i / dim)
    pe = torch.zeros(length, dim)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div[: pe[:, 1::2].shape[1]])
    return pe  # [L, dim]


class AxisAttention(nn.Module):
    """Residual multi-head self-attention along one axis of [B, ch, F, T] ('time' or 'freq')."""

    def __init__(self, ch, axis, length, heads=2, d=None):
        super().__init__()
        self.axis, self.heads = axis, heads
        self.d = d or max(8, ch // heads)
        self.norm = nn.BatchNorm2d(ch)
        self.qkv = nn.Conv2d(ch, 3 * heads * self.d, 1)
        self.proj = nn.Conv2d(heads * self.d, ch, 1)
        pe = sinusoid(length, ch).t()  # [ch, L]
        shape = (1, ch, 1, length) if axis == "time" else (1, ch, length, 1)
        self.register_buffer("pe", pe.reshape(shape), persistent=False)

    def forward(self, x):
        b, ch, f, t = x.shape
        h, d = self.heads, self.d
        y = self.norm(x) + self.pe
        q, k, v = self.qkv(y).reshape(b, 3, h, d, f, t).unbind(1)   # each [B, h, d, F, T]
        if self.axis == "time":   # sequences over T, one per (head, frequency row)
            q = q.permute(0, 1, 3, 4, 2)        # [B, h, F, T, d]
            k = k.permute(0, 1, 3, 2, 4)        # [B, h, F, d, T]
            v = v.permute(0, 1, 3, 4, 2)        # [B, h, F, T, d]
        else:                     # sequences over F, one per (head, frame)
            q = q.permute(0, 1, 4, 3, 2)        # [B, h, T, F, d]
            k = k.permute(0, 1, 4, 2, 3)        # [B, h, T, d, F]
            v = v.permute(0, 1, 4, 3, 2)        # [B, h, T, F, d]
        att = torch.softmax(torch.matmul(q, k) * (1.0 / math.sqrt(d)), dim=-1)
        o = torch.matmul(att, v)                 # [B, h, rows, L, d]
        o = o.permute(0, 1, 4, 2, 3) if self.axis == "time" else o.permute(0, 1, 4, 3, 2)  # [B, h, d, F, T]
        return x + self.proj(o.reshape(b, h * d, f, t))


class TFA(nn.Module):
    """Temporal-frequency attention: attention along time, then along frequency."""

    def __init__(self, ch, f, t, heads):
        super().__init__()
        self.time = AxisAttention(ch, "time", t, heads)
        self.freq = AxisAttention(ch, "freq", f, heads)

    def forward(self, x):
        return self.freq(self.time(x))


class MSTFA(SeparationModel):
    arch = "mstfa"
    io = "complex-spectrogram"
    input_name = "spec"

    def __init__(self, stems=None, channels=(32, 64, 128, 256), blocks=2, attn_levels=(1, 2, 3), heads=2,
                 patch=4, audio_channels=2, segment=255 * 512, n_fft=2048, hop=512, bins=1024):
        super().__init__(stems=stems, segment=segment, channels=audio_channels, n_fft=n_fft, hop=hop, bins=bins)
        c, s = audio_channels, len(self.stems)
        levels = len(channels)
        self.multiple_t = 2 ** (levels - 1)
        self.multiple_f = patch * 2 ** (levels - 1)
        fp = (bins + (-bins) % self.multiple_f) // patch
        tp = self.frames + (-self.frames) % self.multiple_t
        self.embed = nn.Conv2d(2 * c, channels[0], (patch, 1), stride=(patch, 1))
        self.enc, self.down, self.enc_att = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        for i, ch in enumerate(channels):
            fi, ti = fp // 2 ** i, tp // 2 ** i
            self.enc.append(nn.Sequential(*[ConvBlockRes(ch, ch) for _ in range(blocks)]))
            self.enc_att.append(TFA(ch, fi, ti, heads) if i in attn_levels else nn.Identity())
            if i < levels - 1:
                self.down.append(nn.Conv2d(ch, channels[i + 1], 2, stride=2))
        fb, tb = fp // 2 ** (levels - 1), tp // 2 ** (levels - 1)
        self.bottleneck = TFA(channels[-1], fb, tb, heads)
        self.up, self.dec, self.dec_att = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        for i in range(levels - 2, -1, -1):
            ch = channels[i]
            fi, ti = fp // 2 ** i, tp // 2 ** i
            self.up.append(nn.ConvTranspose2d(channels[i + 1], ch, 2, stride=2))
            self.dec.append(nn.Sequential(*[ConvBlockRes(2 * ch if j == 0 else ch, ch) for j in range(blocks)]))
            self.dec_att.append(TFA(ch, fi, ti, heads) if i in attn_levels else nn.Identity())
        self.head = nn.Sequential(nn.BatchNorm2d(channels[0]), nn.ReLU())
        self.unembed = nn.ConvTranspose2d(channels[0], s * c * 2, (patch, 1), stride=(patch, 1))
        even = torch.zeros(1, 1, 1, 2, 1, 1)
        even[:, :, :, 0] = 1.0 / s
        self.register_buffer("even_split", even, persistent=False)

    def forward(self, spec):  # [B, 2C, F, T] → [B, S, 2C, F, T]
        b, c2, f, t = spec.shape
        c, s = c2 // 2, len(self.stems)
        pf, pt = (-f) % self.multiple_f, (-t) % self.multiple_t
        x = F.pad(spec, (0, pt, 0, pf)) if (pf or pt) else spec
        x = self.embed(x)
        skips = []
        for i, (enc, att) in enumerate(zip(self.enc, self.enc_att)):
            x = att(enc(x))
            if i < len(self.down):
                skips.append(x)
                x = self.down[i](x)
        x = self.bottleneck(x)
        for up, dec, att in zip(self.up, self.dec, self.dec_att):
            x = att(dec(torch.cat([up(x), skips.pop()], dim=1)))
        m = self.unembed(self.head(x))
        if pf or pt:   # (no-op slices still copy in ONNX Runtime: crop only when padded)
            m = m[:, :, :f, :t]
        m = m.reshape(b, s, c, 2, f, t)                                            # complex ratio masks
        # Masks are learned as offsets from an even split (1/S real per source): from zero they
        # started as silence, and the L1 losses kept the estimates near it for hundreds of steps.
        m = m + self.even_split
        xs = spec.reshape(b, 1, c, 2, f, t)
        xr, xi = xs[:, :, :, 0], xs[:, :, :, 1]
        mr, mi = m[:, :, :, 0], m[:, :, :, 1]
        return torch.stack([mr * xr - mi * xi, mr * xi + mi * xr], dim=3).reshape(b, s, c2, f, t)

    def loss(self, mixture, targets):
        from common import stft as S
        from common.losses import complex_l1
        est, extra = self.separate(mixture)
        tgt_spec = S.stft(targets, self.n_fft, self.hop)[..., : self.bins, :]
        return (est - targets).abs().mean() + complex_l1(extra["spec"], tgt_spec)


CONFIGS = {
    # Our reading of the paper's scale (its sizes are not public): 5 levels 32…512, 2 residual blocks
    # per level, TFA at levels 1–4 and the bottleneck, 4 heads, no patching (full frequency resolution).
    "paper": dict(channels=(32, 64, 128, 256, 512), blocks=2, attn_levels=(1, 2, 3, 4), heads=4, patch=1),
    "small": dict(channels=(12, 24, 48, 96), blocks=1, attn_levels=(1, 2, 3), heads=2, patch=4),
}
PAPER_PARAMS = None  # not reported in a form we could verify (no public code)


def build(config="small", **kw):
    cfg = dict(CONFIGS[config])
    cfg.update(kw)
    return MSTFA(**cfg)
