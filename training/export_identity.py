#!/usr/bin/env python3
"""Tiny identity ONNX models + manifests for the engine's pipeline tests.

Writes test/fixtures/models/identity-{waveform,complex,magnitude}/ with
  manifest.json  (validates against src-main/engine/manifest.ts)
  <id>.onnx      (a few hundred bytes; opset 17)

Every model has two stems, "vocals" and "other", and EACH stem is exactly the
input (a copy; the stems do NOT sum to the input). So after STFT → model →
iSTFT / overlap-add, every stem must reproduce the mixture.

Layouts (see the comment at the top of src-main/engine/manifest.ts):
  waveform:            mixture [B, 2, N]      -> stems [B, 2, 2, N]
  complex-spectrogram: spec    [B, 4, F, T]   -> stems [B, 2, 4, F, T]
  magnitude-mask:      mag     [B, 2, F, T]   -> stems [B, 2, 2, F, T] (magnitudes)
Segment: 44100 samples, overlap 0.25; STFT 2048 / hop 512, periodic Hann,
centred (reflect pad), F = 1025, T = floor(44100 / 512) + 1 = 87.

Run: /usr/bin/python3 training/export_identity.py [--out test/fixtures/models]
"""
import argparse
import hashlib
import json
import os

import onnx
from onnx import TensorProto, helper

SEGMENT = 44100
OVERLAP = 0.25
N_FFT, HOP = 2048, 512
BINS = N_FFT // 2 + 1
FRAMES = SEGMENT // HOP + 1
STEMS = ["vocals", "other"]


def build(in_name, out_name, in_shape):
    """Graph: y = concat([unsqueeze(x, 1)] * S, axis=1)."""
    s = len(STEMS)
    out_shape = [in_shape[0], s] + in_shape[1:]
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    nodes = [
        helper.make_node("Unsqueeze", [in_name, "axes"], ["x1"]),
        helper.make_node("Concat", ["x1"] * s, [out_name], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "identity",
        [helper.make_tensor_value_info(in_name, TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, out_shape)],
        initializer=[axes],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="stemdeck-export-identity")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "test", "fixtures", "models"))
    args = ap.parse_args()

    stft = {"nFft": N_FFT, "hop": HOP, "window": "hann", "center": True, "bins": BINS}
    specs = [
        ("identity-waveform", "waveform", "mixture", "stems", ["batch", 2, SEGMENT], {}),
        ("identity-complex", "complex-spectrogram", "spec", "stems", ["batch", 4, BINS, FRAMES], {"stft": stft}),
        ("identity-magnitude", "magnitude-mask", "mag", "stems", ["batch", 2, BINS, FRAMES],
         {"stft": stft, "magnitude": {"output": "magnitude", "wienerIterations": 0}}),
    ]
    for mid, io, iname, oname, shape, extra in specs:
        d = os.path.join(args.out, mid)
        os.makedirs(d, exist_ok=True)
        fname = mid + ".onnx"
        onnx.save(build(iname, oname, shape), os.path.join(d, fname))
        p = os.path.join(d, fname)
        manifest = {
            "id": mid,
            "name": f"Identity ({io}) test model",
            "description": "Test fixture: every stem is an exact copy of the input "
                           "(stems do not sum to the mixture; each one equals it).",
            "architecture": "identity",
            "io": io,
            "sampleRate": 44100,
            "channels": 2,
            "stems": STEMS,
            **({"stft": extra["stft"]} if "stft" in extra else {}),
            "segment": {"samples": SEGMENT, "overlap": OVERLAP},
            "tensors": {"input": iname, "output": oname},
            **({"magnitude": extra["magnitude"]} if "magnitude" in extra else {}),
            "normalize": "none",
            "files": [{"path": fname, "sha256": sha256(p), "bytes": os.path.getsize(p)}],
            "trained": False,
            "params": 0,
            "license": "MIT",
            "source": "training/export_identity.py",
        }
        with open(os.path.join(d, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=2)
            f.write("\n")
        print(f"{mid}: {os.path.getsize(p)} bytes")


if __name__ == "__main__":
    main()
