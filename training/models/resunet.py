"""ResUNet with decoupled magnitude and phase estimation (Kong, Cao, Liu, Choi, Wang,
"Decoupling Magnitude and Phase Estimation with Deep ResUNet for Music Source
Separation", ISMIR 2021) — "ResUNet143 Decouple+".

What makes it that architecture, kept here:
- STFT 2048 / hop 441, periodic Hann, centred (by the engine); 1024 bins used (the
  Nyquist bin is dropped: manifest stft.bins = 1024, the engine zero-fills it);
- magnitude input normalised per frequency bin (BatchNorm over the bins), time padded to
  a multiple of 2^(number of (2,2) poolings) inside the graph and cropped at the end;
- residual U-Net: encoder blocks of `blocks` pre-activation residual conv blocks
  (BN → LeakyReLU(0.01) → 3×3 conv, twice, + 1×1 shortcut when channels change), average
  pooling (2,2) except the last block (1,2) (time × frequency); middle blocks without pooling;
  mirrored decoder: BN → LeakyReLU → transposed conv (stride = the pooling), concatenation
  with the skip, residual blocks; a final residual block and 1×1 conv to
  sources × channels × 4 outputs;
- the decoupled cIRM decoding (per source and channel, outputs o0..o3):
    |M| = sigmoid(o0);  (cos∠M, sin∠M) = (tanh o1, tanh o2) / ‖·‖;  Q = o3
    |Ŷ| = ReLU(|X|·|M| + Q)  (the effective mask can exceed 1)
    ∠Ŷ = ∠X + ∠M  (through cos/sin products);  Ŷ = |Ŷ|·(cos∠Ŷ, sin∠Ŷ)
  done inside the graph; the engine runs the iSTFT;
- loss: L1 on the waveform.
Layout inside the model: [B, ch, F, T] (the engine's layout, so no transposes are needed);
the paper's (time, frequency) poolings (2,2)…(1,2) are therefore written (2,2)…(2,1) here.

Small config: besides fewer/narrower blocks, the frequency axis is folded into channels
(`fold`=4: four contiguous sub-bands of 256 bins become channels, as the same group's
channel-wise sub-band ResUNet, CWS-PResUNet, does with sub-band signals), which divides the
U-Net's pixel count by 4; the cIRM decoding still happens per bin. `paper` uses fold=1.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import SeparationModel

MOMENTUM = 0.01


class ConvBlockRes(nn.Module):
    """Pre-activation residual block: (BN → LeakyReLU → conv3×3) × 2, + shortcut."""

    def __init__(self, cin, cout, slope=0.01):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin, momentum=MOMENTUM)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout, momentum=MOMENTUM)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None
        self.slope = slope

    def forward(self, x):
        y = self.conv1(F.leaky_relu(self.bn1(x), self.slope))
        y = self.conv2(F.leaky_relu(self.bn2(y), self.slope))
        return (self.shortcut(x) if self.shortcut is not None else x) + y


class EncoderBlock(nn.Module):
    def __init__(self, cin, cout, blocks, pool):
        super().__init__()
        self.blocks = nn.Sequential(*[ConvBlockRes(cin if i == 0 else cout, cout) for i in range(blocks)])
        self.pool = pool

    def forward(self, x):
        skip = self.blocks(x)
        if self.pool == (1, 1):
            return skip, skip
        return F.avg_pool2d(skip, self.pool), skip


class DecoderBlock(nn.Module):
    def __init__(self, cin, cout, blocks, stride, slope=0.01):
        super().__init__()
        self.bn = nn.BatchNorm2d(cin, momentum=MOMENTUM)
        self.up = nn.ConvTranspose2d(cin, cout, stride, stride=stride, bias=False)
        self.blocks = nn.Sequential(*[ConvBlockRes(2 * cout if i == 0 else cout, cout) for i in range(blocks)])
        self.slope = slope

    def forward(self, x, skip):
        x = self.up(F.leaky_relu(self.bn(x), self.slope))
        return self.blocks(torch.cat([x, skip], dim=1))


class ResUNetBody(nn.Module):
    """The residual U-Net on [B, cin, T, F] → [B, cout, T, F]. `channels` per encoder level;
    every level pools (2,2) except the last (2,1) (F, T order). Optional `hook(level, x)` modules applied
    after encoder/decoder levels (MSTFA puts its attention there)."""

    def __init__(self, cin, cout, channels, blocks, middle, enc_extra=None, dec_extra=None):
        super().__init__()
        self.pools = [(2, 2)] * (len(channels) - 1) + [(2, 1)]
        self.pre = nn.Conv2d(cin, channels[0], 1)
        self.encoders = nn.ModuleList()
        c = channels[0]
        for ch, pool in zip(channels, self.pools):
            self.encoders.append(EncoderBlock(c, ch, blocks, pool))
            c = ch
        self.middle = nn.Sequential(*[ConvBlockRes(c, c) for _ in range(middle)])
        self.decoders = nn.ModuleList()
        for ch, pool in zip(reversed(channels), reversed(self.pools)):
            self.decoders.append(DecoderBlock(c, ch, blocks, pool))
            c = ch
        self.after = nn.Sequential(*[ConvBlockRes(c, c) for _ in range(max(1, blocks))])
        self.out = nn.Conv2d(c, cout, 1)
        self.enc_extra = enc_extra   # ModuleList (len = levels) or None
        self.dec_extra = dec_extra

    @property
    def time_multiple(self):
        return 2 ** sum(1 for p in self.pools if p[1] == 2)

    def forward(self, x):
        x = self.pre(x)
        skips = []
        for i, enc in enumerate(self.encoders):
            x, skip = enc(x)
            if self.enc_extra is not None:
                x = self.enc_extra[i](x)
            skips.append(skip)
        x = self.middle(x)
        for i, dec in enumerate(self.decoders):
            x = dec(x, skips.pop())
            if self.dec_extra is not None:
                x = self.dec_extra[i](x)
        return self.out(self.after(x))


def magphase(re, im, eps=1e-10):
    mag = torch.sqrt(re * re + im * im)
    d = mag.clamp_min(eps)
    return mag, re / d, im / d


def decouple_decode(o, mag, cos_x, sin_x):
    """Decoupled cIRM decoding (Kong et al. 2021). o: [..., 4, F, T] raw outputs; mag, cos_x,
    sin_x: [..., F, T] of the mixture. Returns (re, im) of Ŷ."""
    mask_mag = torch.sigmoid(o[..., 0, :, :])
    _, mask_cos, mask_sin = magphase(torch.tanh(o[..., 1, :, :]), torch.tanh(o[..., 2, :, :]))
    q = o[..., 3, :, :]
    out_cos = cos_x * mask_cos - sin_x * mask_sin
    out_sin = sin_x * mask_cos + cos_x * mask_sin
    out_mag = F.relu(mag * mask_mag + q)
    return out_mag * out_cos, out_mag * out_sin


class ResUNetDecouple(SeparationModel):
    arch = "resunet-decouple"
    io = "complex-spectrogram"
    input_name = "spec"
    K = 4

    def __init__(self, stems=None, channels=(32, 64, 128, 256, 384, 384), blocks=4, middle=4, fold=1,
                 audio_channels=2, segment=132300, n_fft=2048, hop=441, bins=1024):
        super().__init__(stems=stems, segment=segment, channels=audio_channels, n_fft=n_fft, hop=hop, bins=bins)
        c, s = audio_channels, len(self.stems)
        assert bins % fold == 0
        self.fold = fold
        self.bn0 = nn.BatchNorm2d(bins, momentum=MOMENTUM)   # per-frequency-bin input normalisation
        self.body = ResUNetBody(c * fold, s * c * self.K * fold, list(channels), blocks, middle)

    def forward(self, spec):  # [B, 2C, F, T] → [B, S, 2C, F, T]
        b, c2, f, t = spec.shape
        c, s, k = c2 // 2, len(self.stems), self.fold
        z = spec.reshape(b, c, 2, f, t)
        re, im = z[:, :, 0], z[:, :, 1]                           # [B, C, F, T]
        mag, cos_x, sin_x = magphase(re, im)
        x = self.bn0(mag.transpose(1, 2)).transpose(1, 2)        # normalise per frequency bin
        x = x.reshape(b, c * k, f // k, t)                        # sub-bands → channels (fold=1: no-op)
        m = self.body.time_multiple
        pad = (m - t % m) % m
        if pad:
            x = F.pad(x, (0, pad))
        o = self.body(x)                                           # [B, S·C·4·k, F/k, T (+pad)]
        if pad:   # (no-op slices still copy in ONNX Runtime: crop only when padded)
            o = o[..., :t]
        o = o.reshape(b, s, c, self.K, f, t)
        yr, yi = decouple_decode(o, mag.unsqueeze(1), cos_x.unsqueeze(1), sin_x.unsqueeze(1))  # [B, S, C, F, T]
        return torch.stack([yr, yi], dim=3).reshape(b, s, c2, f, t)


CONFIGS = {
    # ResUNet143 Decouple+: 6 encoder levels (32…384), 4 residual blocks each; 4 middle encoder blocks of
    # 4 residual blocks (16); 3-s segments. Conv layers: 48 enc + 32 mid + 6·(1+8) dec + 8 after + 2 = 144.
    "paper": dict(channels=(32, 64, 128, 256, 384, 384), blocks=4, middle=16, segment=3 * 44100),
    # small: 4 sub-bands folded into channels, 1 residual block per level, 16…96 channels, 1 middle block;
    # 256 frames (2.55 s) = no time padding.
    "small": dict(channels=(16, 32, 48, 64, 96, 96), blocks=1, middle=1, fold=4, segment=441 * 255),
}
# ResUNet143 is described as a ≈ 102 M-parameter model (our reading of the paper/bytesep release);
# the paper config here counts 102.4 M.
PAPER_PARAMS = 102e6


def build(config="small", **kw):
    cfg = dict(CONFIGS[config])
    cfg.update(kw)
    return ResUNetDecouple(**cfg)
