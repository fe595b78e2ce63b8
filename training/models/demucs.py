"""Demucs (Défossez, Usunier, Bottou, Bach 2019, "Music Source Separation in the
Waveform Domain", v2 of the paper / demucs v2 code) — waveform U-Net.

What makes it Demucs, kept here:
- encoder: `depth` layers of Conv1d(kernel 8, stride 4) + ReLU, then a 1×1 Conv1d
  to 2C + GLU ("rewrite"); channels start at C (64 in v2) and double per layer;
- bottleneck: 2-layer bidirectional LSTM over time, then a Linear back to C;
- decoder: Conv1d(kernel `context`=3) to 2C + GLU, then ConvTranspose1d(8, 4),
  + ReLU except the last layer; U-Net skips are added (centre-trimmed);
- no padding in the convolutions: the input is padded to a "valid length" and
  the output centre-trimmed (done inside the graph for the fixed ONNX segment);
- weight rescaling at init (rescale=0.1: each conv's weights divided by
  sqrt(std / 0.1)); input normalised by the mono mixture's mean/std inside the
  model and de-normalised at the end (the whole segment's statistics);
- optional ×2 upsampling of the input inside the model (paper config) with
  windowed-sinc up/down-sampling (as in demucs' resample.py, zeros=56);
- loss: L1 on the waveform.
Small config: C=24, depth 4 (2.3 M params), no ×2 resampling (budget: ≥ 20× real time on 2 cores).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import SeparationModel


def _sinc(t):
    return torch.where(t == 0, torch.ones_like(t), torch.sin(t) / t)


def _kernel2(zeros=56):
    win = torch.hann_window(4 * zeros + 1, periodic=False)
    winodd = win[1::2]
    t = torch.linspace(-zeros + 0.5, zeros - 0.5, 2 * zeros) * math.pi
    return (_sinc(t) * winodd).view(1, 1, -1)


class Resample2(nn.Module):
    """Windowed-sinc ×2 up/down-sampling (fixed kernel, a buffer, not a parameter)."""

    def __init__(self, zeros=56):
        super().__init__()
        self.zeros = zeros
        self.register_buffer("kernel", _kernel2(zeros), persistent=False)

    def up(self, x):
        *other, time = x.shape
        out = F.conv1d(x.reshape(-1, 1, time), self.kernel, padding=self.zeros)[..., 1:].reshape(*other, time)
        return torch.stack([x, out], dim=-1).reshape(*other, 2 * time)

    def down(self, x):
        if x.shape[-1] % 2:
            x = F.pad(x, (0, 1))
        xeven, xodd = x[..., ::2], x[..., 1::2]
        *other, time = xodd.shape
        out = xeven + F.conv1d(xodd.reshape(-1, 1, time), self.kernel, padding=self.zeros)[..., :-1].reshape(*other, time)
        return out * 0.5


class BLSTM(nn.Module):
    def __init__(self, dim, layers=2):
        super().__init__()
        self.lstm = nn.LSTM(input_size=dim, hidden_size=dim, num_layers=layers, bidirectional=True)
        self.linear = nn.Linear(2 * dim, dim)

    def forward(self, x):  # [B, C, L]
        x = x.permute(2, 0, 1)
        x = self.linear(self.lstm(x)[0])
        return x.permute(1, 2, 0)


def _center_trim(x, length):
    delta = x.shape[-1] - length
    return x[..., delta // 2: delta // 2 + length] if delta else x


CONFIGS = {
    # Demucs v2 as in the paper's main results: 64 channels, depth 6, 2 BLSTM layers, ×2 upsampling.
    "paper": dict(channels=64, depth=6, lstm_layers=2, context=3, resample=True, segment=44100 * 8),
    "small": dict(channels=24, depth=4, lstm_layers=2, context=3, resample=False, segment=44100 * 3),
}
# Paper: the model is reported by its size, ≈ 1 GB in fp32 (120 MB after quantisation),
# i.e. ≈ 265 M parameters at 4 bytes each — the BLSTM on 2048 channels dominates.
PAPER_PARAMS = 265e6


class Demucs(SeparationModel):
    arch = "demucs"
    io = "waveform"
    input_name = "mixture"

    def __init__(self, stems=None, audio_channels=2, channels=64, depth=6, lstm_layers=2, context=3,
                 kernel_size=8, stride=4, growth=2.0, resample=True, rescale=0.1, normalize=True, segment=132300):
        super().__init__(stems=stems, segment=segment, channels=audio_channels)
        self.depth, self.kernel_size, self.stride, self.context = depth, kernel_size, stride, context
        self.resample = Resample2() if resample else None
        self.normalize = normalize
        self.encoder = nn.ModuleList()
        self.decoder = nn.ModuleList()
        in_ch, ch = audio_channels, channels
        for index in range(depth):
            self.encoder.append(nn.Sequential(
                nn.Conv1d(in_ch, ch, kernel_size, stride), nn.ReLU(),
                nn.Conv1d(ch, 2 * ch, 1), nn.GLU(dim=1)))
            out_ch = in_ch if index > 0 else len(self.stems) * audio_channels
            dec = [nn.Conv1d(ch, 2 * ch, context), nn.GLU(dim=1), nn.ConvTranspose1d(ch, out_ch, kernel_size, stride)]
            if index > 0:
                dec.append(nn.ReLU())
            self.decoder.insert(0, nn.Sequential(*dec))
            in_ch, ch = ch, int(growth * ch)
        self.lstm = BLSTM(in_ch, lstm_layers) if lstm_layers else None
        if rescale:
            for m in self.modules():
                if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d)):
                    scale = (m.weight.std().detach() / rescale) ** 0.5
                    m.weight.data /= scale
                    if m.bias is not None:
                        m.bias.data /= scale

    def valid_length(self, length):
        if self.resample is not None:
            length *= 2
        for _ in range(self.depth):
            length = max(1, math.ceil((length - self.kernel_size) / self.stride) + 1)
            length += self.context - 1
        for _ in range(self.depth):
            length = (length - 1) * self.stride + self.kernel_size
        if self.resample is not None:
            length = math.ceil(length / 2)
        return int(length)

    def forward(self, mix):  # [B, C, N] → [B, S, C, N]
        n = mix.shape[-1]
        if self.normalize:
            mono = mix.mean(dim=1, keepdim=True)
            mean = mono.mean(dim=-1, keepdim=True)
            std = mono.std(dim=-1, keepdim=True)
            x = (mix - mean) / (1e-5 + std)
        else:
            x = mix
        delta = self.valid_length(n) - n
        x = F.pad(x, (delta // 2, delta - delta // 2))
        if self.resample is not None:
            x = self.resample.up(x)
        saved = []
        for enc in self.encoder:
            x = enc(x)
            saved.append(x)
        if self.lstm is not None:
            x = self.lstm(x)
        for dec in self.decoder:
            x = x + _center_trim(saved.pop(-1), x.shape[-1])
            x = dec(x)
        if self.resample is not None:
            x = self.resample.down(x)
        x = _center_trim(x, n)
        if self.normalize:
            x = x * std + mean
        return x.reshape(x.shape[0], len(self.stems), self.audio_channels, n)


def build(config="small", **kw):
    cfg = dict(CONFIGS[config])
    cfg.update(kw)
    return Demucs(**cfg)
