"""STFT exactly as the Stemdeck engine computes it (src-main/engine/stft.ts).

- window: periodic Hann of length n_fft (torch.hann_window(n_fft, periodic=True))
- center=True with reflect padding of n_fft // 2 on both sides
- frames T = floor(N / hop) + 1 for N input samples
- no normalisation on the forward transform; the inverse is the usual
  overlap-add with window-square normalisation (torch.istft), given the length.

Layouts (B batch, C audio channels, F bins, T frames, S stems):
- waveform            [B, C, N] float
- complex spectrogram [B, C, F, T] complex64
- "channels" layout   [B, 2C, F, T] float = (c0 re, c0 im, c1 re, c1 im, ...)
  — this is the engine's complex-spectrogram model input.
"""
import torch


def frames_for(samples: int, hop: int) -> int:
    return samples // hop + 1


def _window(n_fft, device, dtype=torch.float32):
    return torch.hann_window(n_fft, periodic=True, device=device, dtype=dtype)


def stft(wave: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """[..., N] float → [..., F, T] complex (F = n_fft//2+1, T = N//hop+1)."""
    shape = wave.shape
    x = wave.reshape(-1, shape[-1])
    spec = torch.stft(x, n_fft, hop_length=hop, win_length=n_fft, window=_window(n_fft, x.device),
                      center=True, pad_mode="reflect", normalized=False, onesided=True, return_complex=True)
    return spec.reshape(*shape[:-1], spec.shape[-2], spec.shape[-1])


def istft(spec: torch.Tensor, n_fft: int, hop: int, length: int) -> torch.Tensor:
    """[..., F, T] complex → [..., length] float."""
    shape = spec.shape
    z = spec.reshape(-1, shape[-2], shape[-1])
    if z.shape[-2] < n_fft // 2 + 1:  # model saw only the lowest bins: zero-fill the rest
        pad = torch.zeros(z.shape[0], n_fft // 2 + 1 - z.shape[-2], z.shape[-1], dtype=z.dtype, device=z.device)
        z = torch.cat([z, pad], dim=-2)
    x = torch.istft(z, n_fft, hop_length=hop, win_length=n_fft, window=_window(n_fft, z.device),
                    center=True, normalized=False, onesided=True, length=length)
    return x.reshape(*shape[:-2], length)


def complex_to_channels(spec: torch.Tensor) -> torch.Tensor:
    """[B, C, F, T] complex → [B, 2C, F, T] float (c0 re, c0 im, c1 re, c1 im, …)."""
    b, c, f, t = spec.shape
    return torch.view_as_real(spec).permute(0, 1, 4, 2, 3).reshape(b, 2 * c, f, t)


def channels_to_complex(x: torch.Tensor) -> torch.Tensor:
    """[..., 2C, F, T] float → [..., C, F, T] complex."""
    *lead, c2, f, t = x.shape
    x = x.reshape(*lead, c2 // 2, 2, f, t).movedim(-3, -1).contiguous()
    return torch.view_as_complex(x)
