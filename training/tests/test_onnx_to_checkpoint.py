"""Recovering PyTorch weights from a bundled int8 Demucs ONNX (onnx_to_checkpoint.py): the stage 2 of
the default, demucs-instrumental-v1, whose training checkpoint was not kept."""
import json
import os

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from models import build_model
from onnx_to_checkpoint import recover_state

MODEL_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "resources", "models", "demucs-instrumental-v1")


def test_recovered_demucs_matches_onnx_runtime():
    import onnxruntime as ort

    man = json.load(open(os.path.join(MODEL_DIR, "manifest.json")))
    path = os.path.join(MODEL_DIR, man["files"][0]["path"])
    model = build_model("demucs", "small", stems=man["stems"])
    state = recover_state(path, model)
    model.load_state_dict(state)
    model.eval()
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer}
    assert np.array_equal(state["encoder.0.0.weight"].numpy(), inits["encoder.0.0.weight"])   # copied, not re-derived
    x = (0.1 * np.random.default_rng(3).standard_normal((1, 2, model.segment))).astype(np.float32)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    ref = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    with torch.no_grad():
        got, _ = model.separate(torch.from_numpy(x))
    got = got.numpy().reshape(ref.shape)
    sdr = 10 * np.log10(np.sum(ref ** 2) / (np.sum((ref - got) ** 2) + 1e-12))
    assert sdr > 60, sdr   # a wrong gate order or transpose gives ≈ 0 dB
