"""Export round trip: ONNX + manifest + parity, from random init and from a checkpoint."""
import hashlib
import json
import os

import numpy as np
import onnx
import pytest
import torch

import export as export_cli
from common.parity import lcg_input
from models import build_model

MANIFEST_KEYS = {"id", "name", "architecture", "io", "sampleRate", "channels", "stems", "segment", "tensors",
                 "files", "trained", "params", "license", "source"}


def _check_dir(d, mid, arch):
    man = json.load(open(os.path.join(d, "manifest.json")))
    assert MANIFEST_KEYS <= set(man)
    assert man["id"] == mid and man["architecture"] == arch and man["sampleRate"] == 44100 and man["channels"] == 2
    f = man["files"][0]
    data = open(os.path.join(d, f["path"]), "rb").read()
    assert len(data) == f["bytes"] and hashlib.sha256(data).hexdigest() == f["sha256"]
    model = onnx.load(os.path.join(d, f["path"]))
    onnx.checker.check_model(model)
    assert model.opset_import[0].version >= 17
    assert [i.name for i in model.graph.input] == [man["tensors"]["input"]]
    assert [o.name for o in model.graph.output] == [man["tensors"]["output"]]
    if man["io"] != "waveform":
        st = man["stft"]
        assert st["window"] == "hann" and st["center"] is True and st["bins"] <= st["nFft"] // 2 + 1
    par = json.load(open(os.path.join(d, "parity.json")))
    assert os.path.getsize(os.path.join(d, "parity.bin")) == 4 * par["output"]["count"] <= 500_000
    return man, par


def test_export_round_trip_from_checkpoint(tmp_path):
    torch.manual_seed(3)
    m = build_model("mstfa", "small")
    ck = tmp_path / "ck.pt"
    torch.save({"model": m.state_dict(), "step": 1}, ck)
    d = export_cli.main(["--arch", "mstfa", "--config", "small", "--checkpoint", str(ck), "--out", str(tmp_path),
                         "--id", "mstfa-test", "--seed", "99"])
    man, par = _check_dir(d, "mstfa-test", "mstfa")
    assert man["trained"] is True and man["io"] == "complex-spectrogram"
    assert man["params"] == sum(p.numel() for p in m.parameters())
    # the parity output is the checkpoint's model (not the seed-99 random init) on the LCG input
    m.eval()
    x = torch.from_numpy(lcg_input(par["input"]["shape"], par["input"]["seed"], par["input"]["amplitude"]))
    with torch.no_grad():
        y = m(x).numpy().reshape(-1)[:: par["output"]["stride"]]
    ref = np.fromfile(os.path.join(d, "parity.bin"), dtype="<f4")
    assert np.allclose(y, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("arch", ["demucs", "scunet"])
def test_export_random_init_is_marked_untrained(tmp_path, arch):
    d = export_cli.main(["--arch", arch, "--config", "small", "--checkpoint", "none", "--out", str(tmp_path)])
    man, _ = _check_dir(d, os.path.basename(d), arch)
    assert man["trained"] is False and "NOT trained" in man["description"]
    if arch == "scunet":
        assert man["io"] == "magnitude-mask" and man["magnitude"]["output"] == "magnitude"


def test_recalibrate_batchnorm_uses_batch_statistics():
    from common.export import recalibrate_batchnorm
    torch.manual_seed(0)
    m = build_model("resunet-decouple", "small", segment=441 * 63)
    mix = torch.randn(2, 2, m.segment) * 0.1
    n = recalibrate_batchnorm(m, [mix])
    assert n > 10 and not m.training
    assert m.bn0.momentum == 0.01 and m.bn0.num_batches_tracked.item() == 1
    # bn0 normalises magnitudes per bin: its running mean is now the batch's per-bin mean magnitude
    from common import stft as S
    mag = S.stft(mix, m.n_fft, m.hop)[..., : m.bins, :].abs()
    assert torch.allclose(m.bn0.running_mean, mag.transpose(1, 2).mean(dim=(0, 2, 3)), rtol=1e-4, atol=1e-6)
