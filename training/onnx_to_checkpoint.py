#!/usr/bin/env python3
"""Recover a PyTorch checkpoint of a bundled Demucs model from its ONNX file, so that training can
continue when the run's checkpoint was not kept (demucs-instrumental-v1 was committed only as ONNX).

    /usr/bin/python3 training/onnx_to_checkpoint.py resources/models/demucs-instrumental-v1 \
        --stems drums,bass,other --out training/checkpoints/demucs-instrumental.pt

Conv/ConvTranspose weights are stored by name and copied exactly. The LSTM and its output Linear were
dynamically quantised (training/quantize.py: DynamicQuantizeLSTM, MatMulInteger), so they come back
dequantised, (q − zero_point) · scale per direction: close to the trained fp32 weights, not equal;
the script prints the SDR of the PyTorch model's output against ONNX Runtime's on the same input.

ONNX LSTM layout → PyTorch: W [dirs, input, 4H] (transposed by the quantiser), R [dirs, H, 4H],
B [dirs, 8H] = (Wb, Rb); gate order i, o, f, c in ONNX, i, f, g(=c), o in PyTorch.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def _dequant(inits: dict, name: str) -> np.ndarray:
    """Initializer `name` (plain, or its _quantized/_scale/_zero_point triple) as float32."""
    if name in inits:
        return inits[name].astype(np.float32)
    q, s, z = (inits[f"{name}_{k}"] for k in ("quantized", "scale", "zero_point"))
    shape = (-1,) + (1,) * (q.ndim - 1) if np.ndim(s) else ()
    return ((q.astype(np.float32) - np.reshape(z, shape).astype(np.float32)) * np.reshape(s, shape)).astype(np.float32)


def _onnx_to_torch_gates(w: np.ndarray, axis: int) -> np.ndarray:
    """ONNX gate blocks (i, o, f, c) along `axis` → PyTorch's (i, f, c, o)."""
    i, o, f, c = np.split(w, 4, axis=axis)
    return np.concatenate([i, f, c, o], axis=axis)


def recover_state(onnx_path: str, model: torch.nn.Module) -> dict[str, torch.Tensor]:
    g = onnx.load(onnx_path).graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    state = {k: v.clone() for k, v in model.state_dict().items()}
    for k in state:
        if k in inits:
            state[k] = torch.from_numpy(inits[k].copy()).reshape(state[k].shape)
    lstm_nodes = [n for n in g.node if n.op_type in ("LSTM", "DynamicQuantizeLSTM")]
    for layer, node in enumerate(lstm_nodes):
        # DynamicQuantizeLSTM inputs: X, W, R, B, seq_lens, h0, c0, P, W_scale, W_zp, R_scale, R_zp
        w_name, r_name, b_name = node.input[1], node.input[2], node.input[3]
        strip = lambda n: n[: -len("_quantized")] if n.endswith("_quantized") else n   # noqa: E731
        W, R, B = _dequant(inits, strip(w_name)), _dequant(inits, strip(r_name)), inits[b_name].astype(np.float32)
        if node.op_type == "LSTM":   # plain ONNX LSTM: W [dirs, 4H, in]
            W, R = W.transpose(0, 2, 1), R.transpose(0, 2, 1)
        for d, suffix in enumerate(["", "_reverse"]):
            p = f"lstm.lstm.{{}}_l{layer}{suffix}"
            state[p.format("weight_ih")] = torch.from_numpy(_onnx_to_torch_gates(W[d].T, 0).copy())
            state[p.format("weight_hh")] = torch.from_numpy(_onnx_to_torch_gates(R[d].T, 0).copy())
            wb, rb = np.split(B[d], 2)
            state[p.format("bias_ih")] = torch.from_numpy(_onnx_to_torch_gates(wb, 0).copy())
            state[p.format("bias_hh")] = torch.from_numpy(_onnx_to_torch_gates(rb, 0).copy())
    if "lstm.linear.weight" not in inits:   # quantised MatMul: [in, out] → Linear weight [out, in]
        mm = [n for n in g.node if n.op_type == "MatMulInteger"]
        names = [i for n in mm for i in n.input if i.endswith("_quantized") and i in inits]
        assert len(names) == 1, names
        state["lstm.linear.weight"] = torch.from_numpy(_dequant(inits, names[0][: -len("_quantized")]).T.copy())
    return state


def sdr_against_onnx(model: torch.nn.Module, onnx_path: str, seed: int = 0) -> float:
    """SDR (dB) of the PyTorch model's raw output against ONNX Runtime's on one segment of noise
    ([1, 2, segment] float32, 0.1 RMS)."""
    import onnxruntime as ort

    x = (0.1 * np.random.default_rng(seed).standard_normal((1, 2, model.segment))).astype(np.float32)
    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    ref = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    with torch.no_grad():
        got, _ = model.separate(torch.from_numpy(x))
    got = got.numpy().reshape(ref.shape)
    return float(10 * np.log10(float(np.sum(ref ** 2)) / (float(np.sum((ref - got) ** 2)) + 1e-12)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dir", help="resources/models/<id>")
    ap.add_argument("--arch", default="demucs")
    ap.add_argument("--config", default="small")
    ap.add_argument("--stems", default=None, help="comma-separated stems of the ONNX output (default: the config's)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    from models import build_model

    man = json.load(open(os.path.join(a.model_dir, "manifest.json")))
    kw = {"stems": a.stems.split(",")} if a.stems else {}
    model = build_model(a.arch, a.config, **kw)
    onnx_path = os.path.join(a.model_dir, man["files"][0]["path"])
    model.load_state_dict(recover_state(onnx_path, model))
    model.eval()
    sdr = sdr_against_onnx(model, onnx_path)
    print(json.dumps({"onnx": onnx_path, "sdr_torch_vs_onnx_db": round(sdr, 2)}))
    torch.save({"model": model.state_dict(), "state": {"step": 0, "cpu_seconds": 0.0, "wall_seconds": 0.0,
                                                       "best": -1e9, "best_step": 0},
                "arch": a.arch, "config": a.config, "recovered_from": man["id"]}, a.out)


if __name__ == "__main__":
    main()
