"""The Spleeter-initialised Spectrogram-Channels U-Net (models/scunet_spleeter.py).

Needs Deezer's checkpoint (run_tests.sh fetches it; STEMDECK_SKIP_SPLEETER=1 skips instead).
The transfer's promise: before any fine-tuning the vocals output IS Deezer's vocals U-Net, so the
vocal skill starts where Spleeter's is; the export contract gives masks that sum to 1 on every bin.
"""
import os

import numpy as np
import pytest
import torch

from models import build_model
from models.scunet_spleeter import MULTIPLE, SpleeterSCUNet
from models.spleeter import MODEL_BINS, SpleeterUNet
from spleeter import checkpoint as C
from spleeter import fetch


def _tensors():
    try:
        return C.read_checkpoint(fetch.spleeter_checkpoint())
    except Exception as e:  # noqa: BLE001
        msg = f"Deezer's Spleeter checkpoint unavailable ({type(e).__name__}: {e})"
        if os.environ.get("STEMDECK_SKIP_SPLEETER") == "1":
            pytest.skip(msg)
        pytest.fail(msg + "; run training/run_tests.sh (fetches it) or set STEMDECK_SKIP_SPLEETER=1")


@pytest.fixture(scope="module")
def tensors():
    return _tensors()


@pytest.fixture(scope="module")
def model(tensors):
    torch.set_num_threads(1)
    return SpleeterSCUNet(frames=64).init_from_spleeter(tensors).eval()


def _music_like(t=64, seed=0):
    """[1, 2, t, 1024] positive 'magnitudes' with a spectral tilt (Spleeter layout)."""
    g = torch.Generator().manual_seed(seed)
    tilt = 1 / (1 + torch.arange(MODEL_BINS, dtype=torch.float32) / 20)
    return torch.rand(1, 2, t, MODEL_BINS, generator=g) * tilt


@torch.no_grad()
def test_vocals_start_as_deezers_vocals_net(model, tensors):
    x = _music_like()
    ref = SpleeterUNet().load_tf(tensors, 0).eval()(x)
    y = model.magnitudes(x)
    vi = model.stems.index("vocals")
    assert y.shape == (1, 4, 2, 64, MODEL_BINS)
    # equal up to float32 rounding: the four heads run as one grouped conv, whose kernels may sum
    # in another order than the single-source conv on some CPUs (seen: 3e-8 at most, 0.45 peak)
    torch.testing.assert_close(y[:, vi], ref, rtol=1e-5, atol=1e-6)
    # the other sources start as the accompaniment estimate (1 − vocals mask) · x, up to the jitter
    for k in range(4):
        if k != vi:
            err = (y[:, k] - (x - ref)).abs().mean() / x.mean()
            assert err < 0.05, (k, float(err))


@torch.no_grad()
def test_export_contract_masks_sum_to_one_on_every_bin(model):
    mag = torch.rand(1, 2, 2049, 64) * 0.3
    m = model(mag)
    assert m.shape == (1, 4, 2, 2049, 64)
    assert float((m.sum(1) - 1).abs().max()) < 1e-5
    assert float(m.min()) >= 0
    # above 11 kHz: each source's mask is its own mean over bins 512–1023, constant across the band
    top = m[:, :, :, MODEL_BINS - 512:MODEL_BINS].mean(dim=3)
    assert torch.allclose(m[:, :, :, MODEL_BINS], top, atol=1e-6)
    assert torch.allclose(m[:, :, :, -1], top, atol=1e-6)


@torch.no_grad()
def test_time_axis_padding_is_transparent(model):
    x = _music_like(t=100, seed=1)   # not a multiple of 64: padded inside, cropped back
    assert 100 % MULTIPLE != 0
    y = model.magnitudes(x)
    assert y.shape[3] == 100 and torch.isfinite(y).all()


def test_fine_tuning_keeps_the_encoder_and_batchnorm_statistics(tensors):
    torch.manual_seed(0)
    m = build_model("scunet", "spleeter", segment=63 * 1024)
    assert m.frames == 64
    m.train()
    enc0 = [p.detach().clone() for p in m.enc_conv.parameters()]
    bn0 = [b.running_mean.clone() for b in m.dec_bn]
    opt = torch.optim.Adam([p for p in m.parameters() if p.requires_grad], 1e-3)
    wave = torch.randn(2, 4, 2, m.segment) * 0.05
    loss = m.loss(wave.sum(1), wave)
    loss.backward()
    opt.step()
    assert torch.isfinite(loss)
    assert all(torch.equal(a, b) for a, b in zip(enc0, m.enc_conv.parameters()))
    assert all(torch.equal(a, b.running_mean) for a, b in zip(bn0, m.dec_bn))
    assert any(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in m.dec_conv.parameters())
    # the distillation teacher is not part of the saved weights
    assert not any(k.startswith("_teacher") for k in m.state_dict())


def test_accompaniment_only_items_train_vocals_and_the_sum_of_the_rest(tensors):
    m = SpleeterSCUNet(frames=64).init_from_spleeter(tensors).freeze_encoder().train()
    voc = torch.randn(1, 2, m.segment) * 0.05
    acc = torch.randn(1, 2, m.segment) * 0.1
    loss = m.acc_loss(voc + acc, voc, acc)
    loss.backward()
    assert torch.isfinite(loss) and float(loss) > 0
    np.testing.assert_equal(m.last.weight.grad is not None, True)
