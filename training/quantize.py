#!/usr/bin/env python3
"""Dynamic int8 quantisation of a bundled model's recurrent and matrix-product layers.

  /usr/bin/python3 training/quantize.py resources/models/demucs-instrumental-v1 [--ops LSTM,MatMul]

Rewrites <dir>/<id>.onnx in place (weights of the chosen op types stored as int8, activations
quantised per run), then updates the manifest's sha256/bytes and widens parity.json's tolerance
to 4x what the quantised graph measures against the fp32 PyTorch reference (the parity test still
catches a wrong graph: a wiring error is off by O(1), int8 by O(1e-2)).

Why only LSTM and MatMul: measured on demucs-small with onnxruntime 1.2x on 2 cores, quantising
them cut ONNX Runtime time 17-20 %, while quantised Conv was 1.8-2.6x slower (no int8 conv
kernels worth it on this CPU path). Needs onnx + onnxruntime's quantisation tools, not torch;
Debian's onnx 1.12 is too old for recent onnxruntime.quantization, so use a small venv:
  python3 -m venv /work/cache/qvenv && /work/cache/qvenv/bin/pip install onnxruntime==1.17.3 onnx==1.15.0 "numpy<2"
  /work/cache/qvenv/bin/python training/quantize.py resources/models/<id>
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from common.parity import lcg_input  # noqa: E402  (numpy only: this script needs no torch)


def sha256_file(path: str) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def quantize(model_dir: str, ops: list[str]) -> dict:
    from onnxruntime.quantization import QuantType, quantize_dynamic
    import onnxruntime as ort

    man_path = os.path.join(model_dir, "manifest.json")
    man = json.load(open(man_path))
    onnx_path = os.path.join(model_dir, man["files"][0]["path"])
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "q.onnx")
        quantize_dynamic(onnx_path, out, op_types_to_quantize=ops, weight_type=QuantType.QInt8)
        os.replace(out, onnx_path)
    man["files"][0]["sha256"] = sha256_file(onnx_path)
    man["files"][0]["bytes"] = os.path.getsize(onnx_path)
    man["quantized"] = {"method": "dynamic-int8", "ops": ops}
    with open(man_path, "w") as f:
        json.dump(man, f, indent=2, ensure_ascii=False)
        f.write("\n")

    # parity against the stored fp32 PyTorch output: measure, then record a tolerance 4x above it
    # (activations are quantised per run over the whole batch, so a batch of 2 rounds differently)
    par_path = os.path.join(model_dir, "parity.json")
    par = json.load(open(par_path))
    x = lcg_input(par["input"]["shape"], seed=par["input"]["seed"], amplitude=par["input"]["amplitude"])
    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    y = sess.run(None, {par["input"]["name"]: x})[0].reshape(-1)
    ref = np.fromfile(os.path.join(model_dir, par["output"]["file"]), dtype="<f4")
    got = y[:: par["output"]["stride"]][: ref.size]
    err = float(np.abs(got - ref).max())
    rel = err / par["output"]["maxAbs"]
    snr = float(10 * np.log10(np.sum(ref.astype(np.float64) ** 2) / max(np.sum((got - ref).astype(np.float64) ** 2), 1e-30)))
    par["tolerance"] = {"relative": float(f"{max(4 * rel, 1e-4):.2g}"),
                        "note": f"int8 dynamic quantisation of {', '.join(ops)}: measured max |onnx - torch fp32| = "
                                f"{rel:.2g} x max |torch| ({snr:.1f} dB SNR on the sampled values); tolerance is 4x that"}
    with open(par_path, "w") as f:
        json.dump(par, f, indent=2)
        f.write("\n")
    return {"relative": rel, "snr_db": snr, "bytes": man["files"][0]["bytes"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("--ops", default="LSTM,MatMul")
    a = ap.parse_args()
    print(json.dumps(quantize(a.model_dir, a.ops.split(","))))


if __name__ == "__main__":
    main()
