"""Recovering PyTorch weights from a bundled int8 Demucs ONNX (onnx_to_checkpoint.py): the stage 2 of
the default, demucs-instrumental-v1, whose training checkpoint was not kept."""
import json
import os

import numpy as np
import onnx
from onnx import numpy_helper

from models import build_model
from onnx_to_checkpoint import recover_state, sdr_against_onnx

MODEL_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "resources", "models", "demucs-instrumental-v1")


def test_recovered_demucs_matches_onnx_runtime():
    man = json.load(open(os.path.join(MODEL_DIR, "manifest.json")))
    path = os.path.join(MODEL_DIR, man["files"][0]["path"])
    model = build_model("demucs", "small", stems=man["stems"])
    state = recover_state(path, model)
    model.load_state_dict(state)
    model.eval()
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer}
    assert np.array_equal(state["encoder.0.0.weight"].numpy(), inits["encoder.0.0.weight"])   # copied, not re-derived
    sdr = sdr_against_onnx(model, path, seed=3)
    assert sdr > 60, sdr   # a wrong gate order or transpose gives ≈ 0 dB
