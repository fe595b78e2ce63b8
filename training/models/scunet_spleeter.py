"""Spectrogram-Channels U-Net (Oh, Kim, Yun 2018) transferred from Spleeter's vocals U-Net
(config "spleeter" of the scunet seed; issue 11's transfer).

The SC U-Net is one U-Net on the mixture magnitude whose output channels are the sources'
magnitude spectrograms, trained with the volume-balanced L1. Its backbone is the singing-voice
U-Net of Jansson et al. (2017) — exactly the network Deezer trained for Spleeter — so the trunk
here is Spleeter's U-Net (models/spleeter.py: same layers, padding, skips from the encoder's
pre-activations) with the last two layers widened from one source to S:
- last transposed conv 32 → S channels (one feature map per source), BN over S;
- last conv grouped per source (S groups, 1 → C audio channels each, kernel 4, dilation 2),
  sigmoid, × input: output channel (s, c) IS source s's magnitude on audio channel c.
Initialisation (init_from_spleeter): every layer from Deezer's vocals U-Net; the vocals slot of
the widened layers copies the vocals net's last layers exactly (so the vocals output starts as
Spleeter's), the other sources copy the same trunk features with the last conv negated
(sigmoid(−z) = 1 − sigmoid(z): each starts as the accompaniment estimate) plus a little noise to
break their symmetry. Fine-tuning keeps the vocal skill by distillation: an extra L1 between our
vocals magnitude and the frozen Spleeter vocals net's on the same training mixture.

Shapes: Spleeter's layout inside, [B, C=2, T frames, F=1024 bins] (STFT 4096 / hop 1024, the
lowest 1024 bins = 0–11 kHz); T is padded to a multiple of 64.
Export contract (engine io "magnitude-mask", output "mask"): forward(mag [B, 2, 2049, T]) →
ratio masks [B, S, 2, 2049, T], Mₛ = (Ŷₛ² + ε/S) / (Σ Ŷ² + ε) below bin 1024 (as Spleeter
combines its nets), and above it each source's mask is the mean of its own mask over bins
512–1023 per frame (the measured choice of spleeter-2stems; the extended masks still sum to 1).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import SeparationModel
from .spleeter import (CHUNK_FRAMES, ENC_CHANNELS, EPS, HOP, MODEL_BINS, N_FFT, SpleeterUNet, build_trunk,
                       trunk_features)

MULTIPLE = 2 ** len(ENC_CHANNELS)   # 64: the time axis must divide by the 6 stride-2 levels


def ratio_masks(y):
    """Source magnitudes Ŷ [B, S, ...] → Spleeter's ratio masks (Ŷₛ² + ε/S) / (Σ Ŷ² + ε), same shape."""
    y2 = y.square()
    s = y2.shape[1]
    return (y2 + EPS / s) / (y2.sum(dim=1, keepdim=True) + EPS)


class SpleeterSCUNet(SeparationModel):
    arch = "scunet"
    io = "magnitude-mask"
    magnitude_output = "mask"
    input_name = "mag"
    output_name = "masks"

    def __init__(self, stems=None, frames=CHUNK_FRAMES, segment=None, audio_channels=2, top_bins=512,
                 distill_weight=1.0):
        # a whole number of hops, so the frame count is exact (T = segment / hop + 1)
        seg = (int(segment) // HOP) * HOP if segment is not None else (frames - 1) * HOP
        super().__init__(stems=stems, segment=seg, channels=audio_channels, n_fft=N_FFT, hop=HOP,
                         bins=N_FFT // 2 + 1)
        c, s = audio_channels, len(self.stems)
        # Spleeter's U-Net, its last decoder layer with one map per source
        self.enc_conv, self.enc_bn, self.dec_conv, self.dec_bn = build_trunk(c, last_channels=s)
        self.last = nn.Conv2d(s, s * c, 4, dilation=2, padding=3, groups=s)
        self.dropout = nn.Dropout(0.4)   # the SC U-Net's dropout, on the first 3 decoder layers (as Jansson)
        self.top_bins = top_bins
        self.distill_weight = distill_weight
        self._teacher = None             # frozen Spleeter vocals U-Net (not a submodule: not saved)

    # ---- the network, Spleeter layout ---------------------------------------------------
    def magnitudes(self, x):
        """x [B, C, T, F=1024] mixture magnitudes → Ŷ [B, S, C, T, F] source magnitudes."""
        b, c, t, f = x.shape
        pt = (-t) % MULTIPLE
        xp = F.pad(x, (0, 0, 0, pt)) if pt else x
        h = trunk_features(self, xp, self.dropout)
        mask = torch.sigmoid(self.last(h))                       # [B, S·C, Tp, F]
        if pt:
            mask = mask[:, :, :t]
        s = len(self.stems)
        return mask.reshape(b, s, c, t, f) * x.unsqueeze(1)

    def forward(self, mag):
        """mag [B, C, 2049, T] (engine layout) → ratio masks [B, S, C, 2049, T]."""
        fb = mag.shape[2]
        x = mag[:, :, :MODEL_BINS, :].transpose(2, 3)            # [B, C, T, 1024]
        m = ratio_masks(self.magnitudes(x)).transpose(3, 4)      # [B, S, C, 1024, T]
        if fb > MODEL_BINS:
            high = m[:, :, :, -self.top_bins:, :].mean(dim=3, keepdim=True)
            m = torch.cat([m, high.expand(-1, -1, -1, fb - MODEL_BINS, -1)], dim=3)
        return m

    def train(self, mode=True):
        """Fine-tuning keeps Deezer's BatchNorm statistics (our batches are 2–4 items, theirs were
        real music at scale) and, with freeze_encoder, the encoder: only the decoder adapts."""
        super().train(mode)
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eval()
        return self

    def freeze_encoder(self):
        for p in list(self.enc_conv.parameters()) + list(self.enc_bn.parameters()):
            p.requires_grad_(False)
        return self

    # ---- training -------------------------------------------------------------------------
    def _mix_layout(self, wave):
        """[B, C, N] waveform → [B, C, T, 1024] magnitudes (Spleeter layout)."""
        return self.spec(wave)[:, :, :MODEL_BINS, :].abs().transpose(2, 3)

    def _distill(self, x, est_vocals):
        if self._teacher is None or self.distill_weight <= 0:
            return est_vocals.sum() * 0
        with torch.no_grad():
            pt = (-x.shape[2]) % MULTIPLE
            t = self._teacher(F.pad(x, (0, 0, 0, pt)) if pt else x)[:, :, :x.shape[2]]
        return self.distill_weight * (est_vocals - t).abs().mean() / (x.mean() + 1e-8)

    def loss(self, mixture, targets, weights=None):
        """Volume-balanced L1 (the SC U-Net's loss) on the source spectrograms the model delivers —
        the ratio-masked mixture Mₛ·|X|, as forward() combines the channels — + vocal distillation.
        (An L1 on the raw channels Ŷₛ, our first run, drove the drums and bass sigmoids to 0: each raw
        channel was trained alone, but the squared ratio then amplified their differences; see the
        model card.) Both terms are divided by the mixture's mean magnitude so loud and quiet batches
        weigh alike."""
        from common.losses import volume_balanced_l1
        x = self._mix_layout(mixture)
        y = self.magnitudes(x)                                   # [B, S, C, T, F]
        est = ratio_masks(y) * x.unsqueeze(1)
        tgt = torch.stack([self._mix_layout(targets[:, i]) for i in range(targets.shape[1])], dim=1)
        scale = x.mean() + 1e-8
        loss = volume_balanced_l1(est / scale, tgt / scale, weights)
        if "vocals" in self.stems:
            loss = loss + self._distill(x, y[:, self.stems.index("vocals")])
        return loss

    def acc_loss(self, mixture, vocals, accompaniment):
        """Items with a real accompaniment and no stems of it (a soundtrack, a karaoke track):
        L1 on the delivered vocals spectrogram and on the sum of the others', + distillation."""
        x = self._mix_layout(mixture)
        y = self.magnitudes(x)
        m = ratio_masks(y)
        vi = self.stems.index("vocals")
        scale = x.mean() + 1e-8
        v = self._mix_layout(vocals)
        a = self._mix_layout(accompaniment)
        loss = ((m[:, vi] * x - v).abs().mean() + ((1 - m[:, vi]) * x - a).abs().mean()) / scale
        return loss + self._distill(x, y[:, vi])

    # ---- transfer ---------------------------------------------------------------------------
    def init_from_spleeter(self, tensors, noise=1e-2, seed=0):
        """Copy Deezer's vocals U-Net (a Spleeter checkpoint dict) into the trunk and every source's
        head (see the module docstring); keep a frozen copy as the distillation teacher."""
        teacher = SpleeterUNet(self.audio_channels).load_tf(tensors, 0).eval()
        for p in teacher.parameters():
            p.requires_grad_(False)
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for dst, src in ((self.enc_conv, teacher.enc_conv), (self.enc_bn, teacher.enc_bn)):
                dst.load_state_dict(src.state_dict())
            n = len(self.dec_conv)
            for i in range(n - 1):
                self.dec_conv[i].load_state_dict(teacher.dec_conv[i].state_dict())
                self.dec_bn[i].load_state_dict(teacher.dec_bn[i].state_dict())
            s, c = len(self.stems), self.audio_channels
            vi = self.stems.index("vocals") if "vocals" in self.stems else 0
            dw, db = teacher.dec_conv[-1].weight, teacher.dec_conv[-1].bias       # [32, 1, 5, 5], [1]
            tbn = teacher.dec_bn[-1]
            lw, lb = teacher.last.weight, teacher.last.bias                         # [C, 1, 4, 4], [C]
            for k in range(s):
                jitter = 0 if k == vi else noise * dw.std() * torch.randn(dw.shape, generator=g)
                self.dec_conv[-1].weight[:, k:k + 1] = dw + jitter
                self.dec_conv[-1].bias[k] = db[0]
                for attr in ("weight", "bias", "running_mean", "running_var"):
                    getattr(self.dec_bn[-1], attr)[k] = getattr(tbn, attr)[0]
                sign = 1.0 if k == vi else -1.0
                self.last.weight[k * c:(k + 1) * c] = sign * lw
                self.last.bias[k * c:(k + 1) * c] = sign * lb
        object.__setattr__(self, "_teacher", teacher)
        return self

    def attach_teacher(self, tensors):
        """Only the frozen distillation teacher (when resuming from our own checkpoint)."""
        teacher = SpleeterUNet(self.audio_channels).load_tf(tensors, 0).eval()
        for p in teacher.parameters():
            p.requires_grad_(False)
        object.__setattr__(self, "_teacher", teacher)
        return self


def build(stems=None, segment=None, transfer=True, freeze_encoder=True, **kw):
    """A Spleeter-initialised SC U-Net (Deezer's checkpoint fetched by spleeter/fetch.py), encoder
    frozen for fine-tuning, or with transfer=False the same network with PyTorch's default
    initialisation (for shape tests)."""
    model = SpleeterSCUNet(stems=stems, segment=segment, **kw)
    if transfer:
        from spleeter.checkpoint import read_checkpoint
        from spleeter.fetch import spleeter_checkpoint
        model.init_from_spleeter(read_checkpoint(spleeter_checkpoint()))
        if freeze_encoder:
            model.freeze_encoder()
    return model
