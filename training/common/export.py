"""Export a SeparationModel to ONNX (opset 17) + manifest + parity vector.

Layout written (one folder per model, the registry reads <dir>/manifest.json):
  <out>/<id>/manifest.json
  <out>/<id>/<id>.onnx
  <out>/<id>/parity.json   {input: {shape, seed, amplitude}, output: {shape, stride, count, l2}, tolerance}
  <out>/<id>/parity.bin    float32 LE: every `stride`-th element of PyTorch's output
"""
import hashlib
import json
import os
import warnings

import numpy as np
import torch

from .parity import lcg_input, sample_output

OPSET = 17


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def export_onnx(model, path, batch=1):
    model.eval()
    x = torch.from_numpy(lcg_input(model.input_shape(batch), seed=7))
    dyn = {model.input_name: {0: "batch"}, model.output_name: {0: "batch"}}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), path, input_names=[model.input_name], output_names=[model.output_name],
                          dynamic_axes=dyn, opset_version=OPSET, do_constant_folding=True)
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return path


def write_parity(model, out_dir, seed=12345, amplitude=0.5, max_values=16384):
    model.eval()
    shape = model.input_shape(1)
    x = lcg_input(shape, seed=seed, amplitude=amplitude)
    with torch.no_grad():
        y = model(torch.from_numpy(x)).numpy()
    vals, stride = sample_output(y, max_values)
    vals.tofile(os.path.join(out_dir, "parity.bin"))
    info = {
        "input": {"name": model.input_name, "shape": shape, "generator": "lcg32", "seed": seed, "amplitude": amplitude},
        "output": {"name": model.output_name, "shape": list(y.shape), "stride": stride, "count": int(vals.size),
                   "file": "parity.bin", "maxAbs": float(np.abs(y).max()), "l2": float(np.sqrt((y.astype(np.float64) ** 2).sum()))},
        "tolerance": {"relative": 1e-4, "note": "max |onnx - torch| <= relative * max |torch| over the sampled values"},
    }
    with open(os.path.join(out_dir, "parity.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    return info


def manifest_for(model, model_id, name, onnx_file, params, trained, license, source, description=None, overlap=0.25):
    m = {
        "id": model_id,
        "name": name,
        **({"description": description} if description else {}),
        "architecture": model.arch,
        "io": model.io,
        "sampleRate": 44100,
        "channels": model.audio_channels,
        "stems": model.stems,
    }
    if model.stft_manifest():
        m["stft"] = model.stft_manifest()
    m["segment"] = {"samples": model.segment, "overlap": overlap}
    m["tensors"] = {"input": model.input_name, "output": model.output_name}
    if model.io == "magnitude-mask":
        m["magnitude"] = {"output": model.magnitude_output, "wienerIterations": 0}
    m["normalize"] = "none"
    m["files"] = [{"path": os.path.basename(onnx_file), "sha256": sha256_file(onnx_file), "bytes": os.path.getsize(onnx_file)}]
    m["trained"] = bool(trained)
    m["params"] = int(params)
    m["license"] = license
    m["source"] = source
    return m


def recalibrate_batchnorm(model, mixtures):
    """Re-estimate every BatchNorm's running statistics as the plain average over `mixtures`
    (an iterable of [B, C, N] waveform batches), e.g. before exporting a briefly trained model:
    the ResUNet/MSTFA blocks use momentum 0.01 (as the ResUNet paper's code), so after only a
    few hundred steps their running statistics still lag the weights and eval-mode output is
    much worse than train-mode output. Everything except the BatchNorms stays in eval mode."""
    import torch.nn as nn
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in bns]
    model.eval()
    for m in bns:
        m.reset_running_stats()
        m.momentum = None   # cumulative moving average
        m.train()
    with torch.no_grad():
        for mix in mixtures:
            model.separate(mix)
    for m, mom in zip(bns, saved):
        m.momentum = mom
    model.eval()
    return len(bns)
