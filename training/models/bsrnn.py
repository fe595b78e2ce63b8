"""BSRNN — Band-split RNN (Luo & Yu, "Music Source Separation with Band-split RNN", 2022/23).

What makes it BSRNN, kept here:
- complex STFT input (2048 / hop 512, periodic Hann, 1025 bins, done by the engine);
- band split with the paper's band tables (below; Hz → bins by floor(Hz / 22050 · 1025),
  the last band takes the rest); per band: normalisation (LayerNorm over the band's
  2·width real/imag features) + a Linear to N features;
- band and sequence modelling: `blocks` residual blocks, each a BLSTM over time (per band)
  then a BLSTM over bands (per frame), each as GroupNorm(1, N) → BLSTM(hidden H) → Linear(2H → N)
  with a residual connection (GroupNorm over the whole sequence, as in the paper's code);
- mask estimation per band: LayerNorm → MLP (hidden 4N = 512, Tanh; `mlp_layers` hidden layers)
  → Linear(→ 2 · (2·width)) → GLU,
  giving an unbounded complex mask (re, im) per bin, applied by complex multiplication;
- loss: L1 on the real and imaginary parts of the spectrogram + L1 on the waveform.

Stems and channels. The paper trains one model per stem (each with its own band table)
and processes each audio channel as a mono signal. `paper` does exactly that (one stem,
channels folded into the batch). `small` is one 4-stem model: one band split (the
vocals/other table), shared band/sequence modelling, and one mask MLP per band whose
hidden layer is shared by the stems and whose output layer gives every stem's mask;
the two audio channels are stacked into the band features (2·C·width inputs) to halve
the cost. Both choices are documented in the manifest description.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import SeparationModel

SR, N_FFT = 44100, 2048
N_BINS = N_FFT // 2 + 1

# (count, width in Hz) — the paper's band-split schemes (the last band takes the rest).
BAND_SPECS = {
    "vocals": [(10, 100), (12, 250), (8, 500), (8, 1000), (2, 2000)],  # 41 bands (also "other")
    "other": [(10, 100), (12, 250), (8, 500), (8, 1000), (2, 2000)],
    "bass": [(10, 50), (5, 100), (6, 500), (4, 1000), (4, 2000)],      # 30 bands
    "drums": [(20, 50), (10, 100), (8, 250), (8, 500), (8, 1000)],     # 55 bands
}


def band_widths(table="vocals", n_bins=N_BINS, sr=SR):
    """Band widths in bins (sum = n_bins): floor(Hz / (sr/2) · n_bins) per band, remainder last."""
    widths = []
    for count, hz in BAND_SPECS[table]:
        widths += [int(math.floor(hz / (sr / 2) * n_bins))] * count
    rest = n_bins - sum(widths)
    assert rest > 0
    return widths + [rest]


def band_edges(widths):
    edges, start = [], 0
    for w in widths:
        edges.append((start, start + w))
        start += w
    return edges


def band_groups(widths):
    """Runs of equal-width bands: [(first_bin, count, width)]. Bands of one run are computed
    together with batched matrix products (mathematically the same as one Linear per band,
    but ~7× fewer ONNX nodes)."""
    groups, lo, i = [], 0, 0
    while i < len(widths):
        j = i
        while j < len(widths) and widths[j] == widths[i]:
            j += 1
        groups.append((lo, j - i, widths[i]))
        lo += (j - i) * widths[i]
        i = j
    return groups


class BandLinear(nn.Module):
    """K independent Linear(d_in → d_out) layers, one per band, on feature-major tensors:
    [K, B, d_in, T] → [K, B, d_out, T] (T stays the contiguous axis: cheap to reshape into
    the engine's [.., F, T] layout)."""

    def __init__(self, k, d_in, d_out):
        super().__init__()
        bound = 1 / math.sqrt(d_in)
        self.weight = nn.Parameter(torch.empty(k, 1, d_out, d_in).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(k, 1, d_out, 1).uniform_(-bound, bound))

    def forward(self, x):
        return torch.matmul(self.weight, x) + self.bias


class BandLayerNorm(nn.Module):
    """K independent LayerNorms over the feature axis of [K, B, d, T]."""

    def __init__(self, k, d, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(k, 1, d, 1))
        self.bias = nn.Parameter(torch.zeros(k, 1, d, 1))
        self.eps = eps

    def forward(self, x):
        mu = x.mean(dim=2, keepdim=True)
        d = x - mu
        var = (d * d).mean(dim=2, keepdim=True)
        return d / torch.sqrt(var + self.eps) * self.weight + self.bias


class SeqBLSTM(nn.Module):
    """Residual GroupNorm(1, N) → BLSTM → Linear(2H → N) over sequences [Bx, L, N].
    GroupNorm(1, N) normalises over the whole (L, N) sequence, then a per-feature affine."""

    def __init__(self, n, hidden, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.bias = nn.Parameter(torch.zeros(n))
        self.eps = eps
        self.lstm = nn.LSTM(n, hidden, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, n)

    def forward(self, x):  # [Bx, L, N]
        mu = x.mean(dim=(1, 2), keepdim=True)
        d = x - mu
        var = (d * d).mean(dim=(1, 2), keepdim=True)
        y = d / torch.sqrt(var + self.eps) * self.weight + self.bias
        return x + self.fc(self.lstm(y)[0])


class BSRNN(SeparationModel):
    arch = "bsrnn"
    io = "complex-spectrogram"
    input_name = "spec"

    def __init__(self, stems=None, band_table="vocals", n_features=128, hidden=256, blocks=12, mlp_mult=4,
                 mlp_layers=1, stereo="stack", audio_channels=2, segment=132300, n_fft=N_FFT, hop=512):
        super().__init__(stems=stems, segment=segment, channels=audio_channels, n_fft=n_fft, hop=hop)
        self.band_table = band_table
        self.widths = band_widths(band_table, self.bins)
        self.groups = band_groups(self.widths)
        self.stereo = stereo
        c = audio_channels if stereo == "stack" else 1   # audio channels seen by one "signal"
        self.c_in = c
        n, s, hm = n_features, len(self.stems), mlp_mult * n_features
        self.n = n
        self.split_norm = nn.ModuleList([BandLayerNorm(k, 2 * c * w) for _, k, w in self.groups])
        self.split_fc = nn.ModuleList([BandLinear(k, 2 * c * w, n) for _, k, w in self.groups])
        self.time_rnn = nn.ModuleList([SeqBLSTM(n, hidden) for _ in range(blocks)])
        self.band_rnn = nn.ModuleList([SeqBLSTM(n, hidden) for _ in range(blocks)])
        self.mask_norm = nn.ModuleList([BandLayerNorm(k, n) for _, k, w in self.groups])
        self.mask_fc1 = nn.ModuleList([BandLinear(k, n, hm) for _, k, w in self.groups])
        self.mask_hidden = nn.ModuleList([
            nn.ModuleList([BandLinear(k, hm, hm) for _ in range(mlp_layers - 1)]) for _, k, w in self.groups])
        # per band: every stem's (value, gate) × channels × (re, im) × width
        self.mask_fc2 = nn.ModuleList([BandLinear(k, hm, s * 2 * 2 * c * w) for _, k, w in self.groups])

    def forward(self, spec):  # [B, 2C, F, T] → [B, S, 2C, F, T]
        b, c2, f, t = spec.shape
        s, n, c = len(self.stems), self.n, self.c_in
        x = spec
        if self.stereo != "stack":  # fold audio channels into the batch (mono processing, as the paper)
            x = x.reshape(b * (c2 // 2), 2, f, t)
        bb = x.shape[0]
        # band split: [bb, 2c, k·w, T] → [k, bb, 2c·w, T] → norm → linear → [k, bb, N, T]
        feats = []
        for (lo, k, w), norm, fc in zip(self.groups, self.split_norm, self.split_fc):
            band = x[:, :, lo:lo + k * w, :].reshape(bb, 2 * c, k, w, t).permute(2, 0, 1, 3, 4)
            feats.append(fc(norm(band.reshape(k, bb, 2 * c * w, t))))
        z = torch.cat(feats, dim=0)                       # [K, bb, N, T]
        kk = z.shape[0]
        z = z.permute(1, 0, 3, 2)                          # [bb, K, T, N]
        for trnn, brnn in zip(self.time_rnn, self.band_rnn):
            z = trnn(z.reshape(bb * kk, t, n)).reshape(bb, kk, t, n).transpose(1, 2)   # over time, per band
            z = brnn(z.reshape(bb * t, kk, n)).reshape(bb, t, kk, n).transpose(1, 2)   # over bands, per frame
        z = z.permute(1, 0, 3, 2)                          # [K, bb, N, T]
        # mask estimation per band: MLP → (value, gate) × (re, im) → GLU → complex mask, applied by
        # complex multiplication. mask_fc2's rows are ordered (stem, value|gate, channel, re|im, bin);
        # the four (value|gate, re|im) row blocks are computed as separate products with the bias folded
        # in (an appended row of ones): the same maths as one Linear + GLU, without slicing copies of the
        # large output in ONNX Runtime.
        ys, k0 = [], 0
        for g, (lo, k, w) in enumerate(self.groups):
            h = torch.tanh(self.mask_fc1[g](self.mask_norm[g](z[k0:k0 + k])))
            for layer in self.mask_hidden[g]:
                h = torch.tanh(layer(h))
            hm = h.shape[2]
            h = torch.cat([h, torch.ones_like(h[:, :, :1])], dim=2)                   # [k, bb, hm+1, T]
            fc2 = self.mask_fc2[g]
            wb = torch.cat([fc2.weight, fc2.bias], dim=3).reshape(k, s, 2, c, 2, w, hm + 1)
            vr, vi, gr, gi = (torch.matmul(wb[:, :, a, :, r].reshape(k, 1, s * c * w, hm + 1), h)
                              for a, r in ((0, 0), (0, 1), (1, 0), (1, 1)))
            mr = (vr * torch.sigmoid(gr)).reshape(k, bb, s, c, w, t)                 # GLU
            mi = (vi * torch.sigmoid(gi)).reshape(k, bb, s, c, w, t)
            xb = x[:, :, lo:lo + k * w, :].reshape(bb, c, 2, k, w, t).permute(3, 0, 2, 1, 4, 5)  # [k, bb, 2, c, w, T]
            xr, xi = xb[:, :, 0:1], xb[:, :, 1:2]                                      # [k, bb, 1, c, w, T]
            yg = torch.stack([mr * xr - mi * xi, mr * xi + mi * xr], dim=4)          # [k, bb, S, c, 2, w, T]
            ys.append(yg.permute(1, 2, 3, 4, 0, 5, 6).reshape(bb, s, c, 2, k * w, t))
            k0 += k
        y = torch.cat(ys, dim=4).reshape(bb, s, 2 * c, f, t)                        # (c0 re, c0 im, c1 re, …)
        if self.stereo != "stack":
            y = y.reshape(b, c2 // 2, s, 2, f, t).transpose(1, 2).reshape(b, s, c2, f, t)
        return y

    def loss(self, mixture, targets):
        """L1 on re/im of each source's spectrogram + L1 on the waveform (paper)."""
        from common import stft as S
        from common.losses import complex_l1
        est, extra = self.separate(mixture)
        tgt_spec = S.stft(targets, self.n_fft, self.hop)[..., : self.bins, :]
        return complex_l1(extra["spec"], tgt_spec) + (est - targets).abs().mean()


CONFIGS = {
    # One stem (vocals), the paper's sizes: N=128, 12 blocks of BLSTM(256), MLP 512; mono processing.
    # Two hidden MLP layers: with one, the count is 25.6 M; with two it is 36.4 M, matching the
    # reported ≈ 37 M, so we take the mask MLP to have two hidden Tanh layers of 4N = 512.
    "paper": dict(stems=["vocals"], band_table="vocals", n_features=128, hidden=256, blocks=12, mlp_mult=4,
                  mlp_layers=2, stereo="batch", segment=3 * 44100),
    # 4 stems in one model; N=32, H=32, 3 blocks, MLP 2N; channels stacked. Segment 259 frames (3 s).
    "small": dict(band_table="vocals", n_features=32, hidden=32, blocks=3, mlp_mult=2, stereo="stack",
                  segment=3 * 44100),
}
PAPER_PARAMS = 37e6  # "≈ 37 M parameters per stem" (models.md)


def build(config="small", **kw):
    cfg = dict(CONFIGS[config])
    cfg.update(kw)
    return BSRNN(**cfg)
