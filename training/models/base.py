"""Base class of every Stemdeck separation model.

A model implements the engine's I/O contract in forward() (the tensor that goes
through ONNX) and a waveform-to-waveform `separate()` used for training and for
the loss, which wraps the STFT/iSTFT the engine does outside the graph:

  io "waveform":            forward([B, C, N])       -> [B, S, C, N]
  io "complex-spectrogram": forward([B, 2C, F, T])   -> [B, S, 2C, F, T]
  io "magnitude-mask":      forward([B, C, F, T])    -> [B, S, C, F, T] (magnitudes or masks)

N = self.segment samples (fixed), F = self.bins, T = N // hop + 1.
"""
import torch
import torch.nn as nn

from common import stft as S

STEMS4 = ["vocals", "drums", "bass", "other"]


class SeparationModel(nn.Module):
    arch = "?"            # manifest "architecture"
    io = "waveform"       # manifest "io"
    magnitude_output = None  # "mask" | "magnitude" for io magnitude-mask
    input_name = "mixture"
    output_name = "stems"

    def __init__(self, stems=None, segment=132300, channels=2, n_fft=None, hop=None, bins=None):
        super().__init__()
        self.stems = list(stems or STEMS4)
        self.segment = int(segment)
        self.audio_channels = channels
        self.n_fft, self.hop = n_fft, hop
        self.bins = bins if bins is not None else (n_fft // 2 + 1 if n_fft else None)

    # ---- contract -------------------------------------------------------
    @property
    def frames(self):
        return S.frames_for(self.segment, self.hop) if self.hop else None

    def input_shape(self, batch=1):
        c = self.audio_channels
        if self.io == "waveform":
            return [batch, c, self.segment]
        if self.io == "complex-spectrogram":
            return [batch, 2 * c, self.bins, self.frames]
        return [batch, c, self.bins, self.frames]

    def stft_manifest(self):
        if not self.n_fft:
            return None
        return {"nFft": self.n_fft, "hop": self.hop, "window": "hann", "center": True, "bins": self.bins}

    # ---- waveform in, waveform out (training) -----------------------------
    def spec(self, wave):
        """[B, C, N] → complex [B, C, F, T] with the model's bins."""
        return S.stft(wave, self.n_fft, self.hop)[..., : self.bins, :]

    def separate(self, wave):
        """[B, C, N] → ([B, S, C, N] estimates, extra dict). N must equal self.segment for spectrogram models
        with fixed shapes (BSRNN/MSTFA); the U-Nets accept any N."""
        n = wave.shape[-1]
        if self.io == "waveform":
            return self.forward(wave), {}
        X = self.spec(wave)
        if self.io == "complex-spectrogram":
            Y = S.channels_to_complex(self.forward(S.complex_to_channels(X)))  # [B, S, C, F, T]
        else:
            out = self.forward(X.abs())
            mag = out * X.abs().unsqueeze(1) if self.magnitude_output == "mask" else out
            Y = torch.polar(mag, torch.angle(X).unsqueeze(1).expand_as(mag))
        est = S.istft(Y, self.n_fft, self.hop, n)
        return est, {"spec": Y, "mix_spec": X}

    def loss(self, mixture, targets):
        """Default: L1 on the waveform. mixture [B, C, N], targets [B, S, C, N]."""
        est, _ = self.separate(mixture)
        return (est - targets).abs().mean()


def count_params(model):
    return sum(p.numel() for p in model.parameters())
