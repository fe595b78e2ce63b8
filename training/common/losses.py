"""Losses shared by the zoo (each model's .loss() picks what its paper uses)."""
import torch


def waveform_l1(est, ref):
    """Mean absolute error on waveforms [B, S, C, N]."""
    return (est - ref).abs().mean()


def complex_l1(est, ref):
    """L1 on the real and imaginary parts of complex spectrograms (BSRNN)."""
    return (est.real - ref.real).abs().mean() + (est.imag - ref.imag).abs().mean()


def volume_balancing_weights(target_mag, eps=1e-8):
    """Spectrogram-Channels U-Net volume balancing: per-source weights inversely
    proportional to each source's mean magnitude, normalised so they average to 1.
    target_mag: [B, S, ...] magnitudes → weights [S]. A source twice as quiet gets twice
    the weight, so quiet sources (e.g. bass in the high bins, vocals in instrumentals)
    are not neglected. Equal loudness → all weights 1."""
    s = target_mag.shape[1]
    mu = target_mag.transpose(0, 1).reshape(s, -1).mean(dim=1).clamp_min(eps)
    w = 1.0 / mu
    return (w * s / w.sum()).detach()


def volume_balanced_l1(est_mag, target_mag, weights=None):
    """Σ_s w_s · mean|Ŝ_s − S_s| / S over sources, est/target [B, S, ...]."""
    if weights is None:
        weights = volume_balancing_weights(target_mag)
    s = est_mag.shape[1]
    per_source = (est_mag - target_mag).abs().transpose(0, 1).reshape(s, -1).mean(dim=1)
    return (weights.to(per_source) * per_source).sum() / s
