"""Spectrogram-Channels U-Net (Oh, Kim, Yun 2018, "Spectrogram-channels U-Net: a source
separation model viewing each channel as the spectrogram of each source").

What makes it that architecture, kept here:
- a U-Net on the mixture MAGNITUDE spectrogram whose output has one channel per source
  (× audio channel): each output channel IS that source's magnitude spectrogram (not a mask;
  manifest magnitude.output = "magnitude"), ReLU at the output; the same network does 2 or 4
  stems by changing the number of output channels (`stems`);
- ReLU conv blocks; dropout 0.4 in the decoder;
- the volume-balancing loss: a weighted L1 over sources with weights that compensate for
  their different loudness (common/losses.py: volume_balancing_weights / volume_balanced_l1);
- phase: the mixture's (io "magnitude-mask"; the engine may refine with Wiener/EM).
Choices where the paper is not specific (documented, *unknown* in models.md):
- backbone as the singing-voice U-Net it builds on (Jansson et al. 2017): encoder of 5×5
  stride-2 convolutions + BN + ReLU, decoder of 5×5 stride-2 transposed convolutions + BN +
  ReLU with dropout 0.4 on the first three decoder layers, concatenated skips;
- STFT 2048 / hop 512 at 44.1 kHz, 1024 bins (Nyquist dropped), 256-frame segments;
- scale: the input is divided by its mean magnitude (per example) and the output multiplied
  back, so the network is loudness-equivariant.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import SeparationModel


class SCUNet(SeparationModel):
    arch = "scunet"
    io = "magnitude-mask"
    magnitude_output = "magnitude"
    input_name = "mag"

    def __init__(self, stems=None, channels=(16, 32, 64, 128, 256, 512), dropout=0.4, dropout_layers=3,
                 audio_channels=2, segment=255 * 512, n_fft=2048, hop=512, bins=1024):
        super().__init__(stems=stems, segment=segment, channels=audio_channels, n_fft=n_fft, hop=hop, bins=bins)
        c, s = audio_channels, len(self.stems)
        self.enc = nn.ModuleList()
        cin = c
        for ch in channels:
            self.enc.append(nn.Sequential(nn.Conv2d(cin, ch, 5, stride=2, padding=2), nn.BatchNorm2d(ch), nn.ReLU()))
            cin = ch
        self.dec = nn.ModuleList()
        rev = list(reversed(channels))
        for i, ch in enumerate(rev[1:]):
            layers = [nn.ConvTranspose2d(cin, ch, 5, stride=2, padding=2, output_padding=1), nn.BatchNorm2d(ch), nn.ReLU()]
            if i < dropout_layers:
                layers.append(nn.Dropout(dropout))
            self.dec.append(nn.Sequential(*layers))
            cin = 2 * ch   # after concatenation with the skip
        # last layer: one output channel per (source, audio channel) = that source's magnitude
        self.out = nn.ConvTranspose2d(cin, s * c, 5, stride=2, padding=2, output_padding=1)
        self.multiple = 2 ** len(channels)

    def forward(self, mag):  # [B, C, F, T] → [B, S, C, F, T] magnitudes
        b, c, f, t = mag.shape
        s = len(self.stems)
        scale = mag.mean(dim=(1, 2, 3), keepdim=True) + 1e-8
        x = mag / scale
        pf, pt = (-f) % self.multiple, (-t) % self.multiple
        if pf or pt:
            x = F.pad(x, (0, pt, 0, pf))
        skips = []
        for enc in self.enc:
            x = enc(x)
            skips.append(x)
        skips.pop()
        for dec in self.dec:
            x = torch.cat([dec(x), skips.pop()], dim=1)
        y = F.relu(self.out(x))
        if pf or pt:   # (no-op slices still copy in ONNX Runtime: crop only when padded)
            y = y[:, :, :f, :t]
        y = y * scale
        return y.reshape(b, s, c, f, t)

    def loss(self, mixture, targets, weights=None):
        """Volume-balanced L1 between estimated and target magnitude spectrograms."""
        from common import stft as S
        from common.losses import volume_balanced_l1
        est = self.forward(self.spec(mixture).abs())
        tgt = S.stft(targets, self.n_fft, self.hop)[..., : self.bins, :].abs()
        return volume_balanced_l1(est, tgt, weights)


CONFIGS = {
    # Jansson-style 6-level U-Net, 16…512 channels.
    "paper": dict(channels=(16, 32, 64, 128, 256, 512), segment=255 * 512),
    "small": dict(channels=(12, 24, 48, 96, 128, 192), segment=255 * 512),
}
PAPER_PARAMS = None  # the paper does not state a parameter count we could verify


def build(config="small", **kw):
    if config == "spleeter":   # the Spleeter-initialised transfer (scunet_spleeter.py)
        from .scunet_spleeter import build as build_transfer
        return build_transfer(**kw)
    cfg = dict(CONFIGS[config])
    cfg.update(kw)
    return SCUNet(**cfg)
