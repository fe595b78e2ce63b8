"""Shapes, losses and parameter counts of the five architectures."""
import pytest
import torch

from models import ARCHS, build_model, count_params, paper_params

SMALL = {}


def small(arch):
    if arch not in SMALL:
        torch.manual_seed(0)
        SMALL[arch] = build_model(arch, "small")
    return SMALL[arch]


@pytest.mark.parametrize("arch", ARCHS)
def test_contract_shapes(arch):
    m = small(arch).eval()
    shape = m.input_shape(2)
    x = torch.randn(*shape).abs() if m.io == "magnitude-mask" else torch.randn(*shape)
    with torch.no_grad():
        y = m(x)
    assert list(y.shape) == [2, len(m.stems)] + shape[1:]
    assert torch.isfinite(y).all()
    if m.io == "magnitude-mask":
        assert (y >= 0).all(), "magnitudes are non-negative"
    # the contract's layout per io family
    if m.io == "waveform":
        assert shape == [2, 2, m.segment]
    else:
        t = m.segment // m.hop + 1
        assert shape[2:] == [m.bins, t]
        assert shape[1] == (4 if m.io == "complex-spectrogram" else 2)


@pytest.mark.parametrize("arch", ARCHS)
def test_separate_and_loss_backward(arch):
    m = small(arch).train()
    torch.manual_seed(1)
    mix = torch.randn(1, 2, m.segment) * 0.1
    targets = torch.randn(1, len(m.stems), 2, m.segment) * 0.05
    est, _ = m.separate(mix)
    assert est.shape == targets.shape
    loss = m.loss(mix, targets)
    assert torch.isfinite(loss) and loss.item() > 0
    loss.backward()
    grads = [p.grad for p in m.parameters() if p.requires_grad]
    assert sum(1 for g in grads if g is not None and g.abs().sum() > 0) > 0.5 * len(grads)
    m.zero_grad(set_to_none=True)
    m.eval()


@pytest.mark.parametrize("arch", ARCHS)
def test_small_is_small(arch):
    # bundled ONNX ≤ 12 MB ⇒ ≤ 3 M fp32 parameters
    assert count_params(small(arch)) <= 3_000_000


@pytest.mark.parametrize("arch,expected,tol", [
    ("demucs", 265e6, 0.02),            # ≈ 1 GB fp32 in the paper
    ("bsrnn", 37e6, 0.03),              # ≈ 37 M per stem
    ("resunet-decouple", 102e6, 0.02),  # ResUNet143
])
def test_paper_param_counts(arch, expected, tol):
    m = build_model(arch, "paper")
    n = count_params(m)
    del m
    assert paper_params(arch) == expected
    assert abs(n - expected) / expected < tol, n


def test_scunet_output_channels_are_sources():
    two = build_model("scunet", "small", stems=["vocals", "accompaniment"])
    four = small("scunet")
    assert two.out.out_channels == 2 * 2 and four.out.out_channels == 4 * 2
    x = torch.rand(1, 2, 1024, 256)
    with torch.no_grad():
        y = two.eval()(x)
    assert y.shape == (1, 2, 2, 1024, 256)
    # loudness equivariance (the input is normalised by its mean and the output scaled back)
    with torch.no_grad():
        y2 = two(x * 4)
    assert torch.allclose(y2, y * 4, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("arch", ARCHS)
def test_small_compute_budget(arch):
    # ≤ 4 GFLOP per second of stereo audio (models.md: a ≥ 20× real-time default has ~3–5)
    from flops import count_macs
    m = small(arch).eval()
    macs = count_macs(m, torch.rand(*m.input_shape(1)))
    gflop_per_s = 2 * macs / 1e9 / (m.segment * 0.75 / 44100)
    assert 0.1 < gflop_per_s <= 4.0, gflop_per_s
