"""STFT convention, BSRNN band tables, cIRM decoding, volume-balancing loss."""
import math

import pytest
import torch

from common import stft as S
from common.losses import volume_balanced_l1, volume_balancing_weights
from models.bsrnn import band_edges, band_groups, band_widths
from models.resunet import decouple_decode, magphase


def test_stft_matches_engine_convention():
    x = torch.randn(2, 2, 44100)
    X = S.stft(x, 2048, 512)
    assert X.shape == (2, 2, 1025, 44100 // 512 + 1)
    # periodic Hann, centre, reflect: frame 0 is the window centred on sample 0 of the reflect-padded signal
    xp = torch.nn.functional.pad(x[0, 0].view(1, 1, -1), (1024, 1024), mode="reflect").view(-1)
    w = torch.hann_window(2048, periodic=True)
    ref = torch.fft.rfft(xp[512 * 3: 512 * 3 + 2048] * w)
    assert torch.allclose(X[0, 0, :, 3], ref, atol=1e-3)
    y = S.istft(X, 2048, 512, 44100)
    assert torch.allclose(x, y, atol=1e-5)
    # channel layout: (c0 re, c0 im, c1 re, c1 im)
    ch = S.complex_to_channels(X)
    assert torch.equal(ch[:, 2], X[:, 1].real) and torch.equal(ch[:, 1], X[:, 0].imag)
    assert torch.equal(S.channels_to_complex(ch), X)
    # fewer bins than nFft/2+1: the inverse zero-fills the missing ones
    y2 = S.istft(X[..., :1024, :], 2048, 512, 44100)
    assert y2.shape == x.shape


@pytest.mark.parametrize("table,bands", [("vocals", 41), ("other", 41), ("bass", 30), ("drums", 55)])
def test_bsrnn_band_tables_cover_every_bin_once(table, bands):
    widths = band_widths(table)
    assert len(widths) == bands
    assert all(w > 0 for w in widths)
    cover = torch.zeros(1025, dtype=torch.int64)
    for lo, hi in band_edges(widths):
        cover[lo:hi] += 1
    assert torch.equal(cover, torch.ones(1025, dtype=torch.int64))
    # Hz → bins: floor(Hz / 22050 · 1025)
    first_hz = {"vocals": 100, "other": 100, "bass": 50, "drums": 50}[table]
    assert widths[0] == math.floor(first_hz / 22050 * 1025)
    # grouped computation covers the same bins in the same order
    g = band_groups(widths)
    assert sum(k * w for _, k, w in g) == 1025 and sum(k for _, k, _ in g) == bands


def test_bsrnn_grouped_bands_equal_per_band_linear():
    from models import build_model
    m = build_model("bsrnn", "small").eval()
    # band 3 (group 0, index 3): changing its bins changes only features of that band before the RNN
    x = torch.randn(1, 4, 1025, m.frames)
    lo, k, w = m.groups[0]
    band = x[:, :, lo:lo + k * w, :].reshape(1, 4, k, w, -1).permute(2, 0, 1, 3, 4).reshape(k, 1, 4 * w, -1)
    z = m.split_fc[0](m.split_norm[0](band))          # [k, 1, N, T]
    # reference: the same maths with band 3's slice alone
    b3 = x[:, :, lo + 3 * w: lo + 4 * w, :].reshape(1, 4 * w, -1)
    mu, var = b3.mean(1, keepdim=True), b3.var(1, unbiased=False, keepdim=True)
    nb = (b3 - mu) / torch.sqrt(var + 1e-5) * m.split_norm[0].weight[3, 0] + m.split_norm[0].bias[3, 0]
    ref = m.split_fc[0].weight[3, 0] @ nb[0] + m.split_fc[0].bias[3, 0]
    assert torch.allclose(z[3, 0], ref, atol=1e-5)


def test_cirm_decoding_exceeds_one_and_rotates_phase():
    x = torch.complex(torch.tensor([[0.6]]), torch.tensor([[0.8]]))       # |X| = 1, ∠X = 53.13°
    mag, cos_x, sin_x = magphase(x.real, x.imag)
    # o0 → |M| = sigmoid(5) ≈ 0.993; o1 = 0, o2 = 3 → ∠M = +90°; Q = 0.5 → |Ŷ| ≈ 1.49 > |X|
    o = torch.tensor([5.0, 0.0, 3.0, 0.5]).view(4, 1, 1)
    yr, yi = decouple_decode(o, mag, cos_x, sin_x)
    y = torch.complex(yr, yi)
    assert y.abs().item() > 1.4, "the effective mask exceeds 1"
    rot = torch.angle(y / x).item()
    assert abs(rot - math.pi / 2) < 1e-5, "phase rotated by ∠M"
    # without Q the magnitude mask is bounded by sigmoid
    o2 = o.clone()
    o2[3] = 0.0
    yr, yi = decouple_decode(o2, mag, cos_x, sin_x)
    assert torch.complex(yr, yi).abs().item() < 1.0
    # ReLU: a negative Q can silence the bin entirely
    o3 = o.clone()
    o3[3] = -5.0
    yr, yi = decouple_decode(o3, mag, cos_x, sin_x)
    assert yr.item() == 0 and yi.item() == 0


def test_resunet_model_applies_cirm_end_to_end():
    from models import build_model
    m = build_model("resunet-decouple", "small").eval()
    # drive the last conv so every output is (o0, o1, o2, o3) = (10, 0, 10, 1): |M|≈1, ∠M=90°, Q=1
    with torch.no_grad():
        m.body.out.weight.zero_()
        b = m.body.out.bias.view(len(m.stems), 2, 4, m.fold)
        b[:, :, 0], b[:, :, 1], b[:, :, 2], b[:, :, 3] = 10.0, 0.0, 10.0, 1.0
        spec = torch.randn(*m.input_shape(1))
        y = m(spec)
    X = S.channels_to_complex(spec)
    Y = S.channels_to_complex(y)[:, 0]
    assert torch.allclose(Y.abs(), X.abs() + 1, atol=1e-3)
    assert torch.allclose(Y, (X / X.abs()) * 1j * (X.abs() + 1), atol=1e-3)


def test_volume_balancing_weights():
    loud = torch.ones(2, 1, 10) * 4.0
    quiet = torch.ones(2, 1, 10) * 1.0
    w = volume_balancing_weights(torch.cat([loud, quiet], 1))
    assert torch.allclose(w, torch.tensor([0.4, 1.6]))       # inverse to loudness, mean 1
    assert torch.allclose(w.sum(), torch.tensor(2.0))
    eq = volume_balancing_weights(torch.ones(3, 4, 5))
    assert torch.allclose(eq, torch.ones(4))
    # the quiet source's error counts 4× as much as the loud one's
    tgt = torch.cat([loud, quiet], 1)
    err_loud = volume_balanced_l1(tgt + torch.tensor([1.0, 0.0]).view(1, 2, 1), tgt)
    err_quiet = volume_balanced_l1(tgt + torch.tensor([0.0, 1.0]).view(1, 2, 1), tgt)
    assert torch.allclose(err_quiet / err_loud, torch.tensor(4.0))


def test_bsrnn_mono_mode_processes_channels_independently():
    # the paper's mode (stereo="batch"): each audio channel is separated as a mono signal
    from models import build_model
    m = build_model("bsrnn", "small", stereo="batch", stems=["vocals"]).eval()
    x = torch.randn(1, 4, 1025, m.frames)
    x2 = x.clone()
    x2[:, 2:] = torch.randn_like(x2[:, 2:])
    with torch.no_grad():
        y, y2 = m(x), m(x2)
    assert y.shape == (1, 1, 4, 1025, m.frames)
    assert torch.equal(y[:, :, :2], y2[:, :, :2]) and not torch.equal(y[:, :, 2:], y2[:, :, 2:])


def test_ratio_mask_refine_sums_to_mixture_and_drops_energy_the_mixture_lacks():
    from validate import ratio_mask_refine

    n = 44100
    t = torch.arange(n) / 44100.0
    low = torch.stack([torch.sin(2 * math.pi * 110 * t), torch.sin(2 * math.pi * 110 * t + 1)]) * 0.4
    high = torch.stack([torch.sin(2 * math.pi * 4000 * t), torch.sin(2 * math.pi * 4000 * t + 1)]) * 0.2
    mix = low + high
    artefact = torch.sin(2 * math.pi * 7000 * t) * 0.1
    est = torch.stack([low + artefact, high * 0.5])  # [S, C, N]
    out = ratio_mask_refine(mix, est, 4096, 2048)
    assert out.shape == est.shape
    assert torch.allclose(out.sum(0), mix, atol=1e-4)
    inner = slice(4096, n - 4096)
    err_before = (est[0] - low)[:, inner].pow(2).sum()
    err_after = (out[0] - low)[:, inner].pow(2).sum()
    assert err_after < err_before / 100
