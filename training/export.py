#!/usr/bin/env python3
"""Export one Stemdeck model: ONNX (opset 17) + manifest + parity vector.

  /usr/bin/python3 training/export.py --arch bsrnn --config small --checkpoint none --out resources/models
  /usr/bin/python3 training/export.py --arch demucs --config small --checkpoint runs/demucs/best.pt \
      --id demucs-small-v1 --trained

--checkpoint: a .pt with either a state_dict or {"model": state_dict, ...}; "none" = random init
(seeded; the manifest then says "trained": false unless --trained is given).
Writes <out>/<id>/{manifest.json, <id>.onnx, parity.json, parity.bin}.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch  # noqa: E402

from common.export import export_onnx, manifest_for, write_parity  # noqa: E402
from models import ARCHS, build_model, count_params, paper_params  # noqa: E402

NAMES = {
    "demucs": "Demucs",
    "bsrnn": "Band-split RNN",
    "mstfa": "Multi-scale TF attention",
    "scunet": "Spectrogram-channels U-Net",
    "resunet-decouple": "ResUNet (decoupled mag/phase)",
}
SHORT = {"resunet-decouple": "resunet"}
# What each architecture is, for the manifest description (small configs; see training/models/*.py).
SUMMARY = {
    "demucs": "Waveform U-Net (Défossez et al. 2019): strided Conv1d + GLU encoder, 2-layer BiLSTM, "
              "transposed-conv decoder with skips",
    "bsrnn": "Band-split RNN (Luo & Yu 2022): 41 bands (vocals table), band and sequence BLSTMs, "
             "GLU complex masks; all 4 stems in one model",
    "mstfa": "Residual U-Net with multi-scale temporal-frequency attention (Chen et al. 2022): "
             "self-attention along time and frequency at 3 scales, complex ratio masks",
    "scunet": "Spectrogram-channels U-Net (Oh et al. 2018): each output channel is a source's magnitude "
              "spectrogram; volume-balancing loss; mixture phase",
    "resunet-decouple": "ResUNet with decoupled magnitude/phase (Kong et al. 2021): cIRM decoded in-graph, "
                        "|Y| = ReLU(|X|·|M| + Q) lets masks exceed 1",
}


def load_checkpoint(model, path):
    ck = torch.load(path, map_location="cpu")
    state = ck.get("model", ck.get("state_dict", ck)) if isinstance(ck, dict) else ck
    model.load_state_dict(state)
    return ck


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", required=True, choices=ARCHS + ["resunet"])
    ap.add_argument("--config", default="small", choices=["small", "paper", "spleeter"])
    ap.add_argument("--checkpoint", default="none")
    ap.add_argument("--out", default=os.path.join(HERE, "..", "resources", "models"))
    ap.add_argument("--id", default=None, help="model id (default <arch>-<config>-v1)")
    ap.add_argument("--trained", action="store_true", help='mark "trained": true (default: true iff a checkpoint is given)')
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--license", default="MIT (code and weights trained by the Stemdeck project)")
    ap.add_argument("--description", default=None)
    ap.add_argument("--overlap", type=float, default=0.25)
    ap.add_argument("--set-default", action="store_true", help="write <out>/index.json {default: id}")
    ap.add_argument("--residual", default=None, help='manifest "residual": derive this stem as mixture − the others')
    ap.add_argument("--refine", default=None, metavar="ratio-mask:NFFT:HOP",
                    help='manifest "refine" for waveform models, e.g. ratio-mask:4096:2048 (engine refine.ts)')
    ap.add_argument("--stems", default=None,
                    help="comma-separated output stems when the checkpoint was trained with train.py --stems")
    ap.add_argument("--name", default=None, help="display name (default: the architecture's and config's)")
    ap.add_argument("--segment", type=int, default=None,
                    help="segment samples of the ONNX graph (default: the config's; MSTFA must keep its own)")
    ap.add_argument("--update", action="store_true",
                    help="re-export into an existing bundled model: keep its manifest (name, description, residual, "
                         "realtimeFactor, metrics, …) and replace only files, params, trained, source (and licence "
                         "when --license is given)")
    args = ap.parse_args(argv)

    arch = "resunet-decouple" if args.arch == "resunet" else args.arch
    torch.manual_seed(args.seed)
    kw = {"segment": args.segment} if args.segment else {}
    if args.stems:
        kw["stems"] = args.stems.split(",")
    model = build_model(arch, args.config, **kw)
    trained = args.trained
    if args.checkpoint != "none":
        load_checkpoint(model, args.checkpoint)
        trained = True
    model.eval()
    mid = args.id or f"{SHORT.get(arch, arch)}-{args.config}-v1"
    d = os.path.join(args.out, mid)
    os.makedirs(d, exist_ok=True)
    onnx_path = os.path.join(d, mid + ".onnx")
    export_onnx(model, onnx_path)
    par = write_parity(model, d)
    params = count_params(model)
    desc = args.description or (
        f"{SUMMARY[arch]}. {args.config.capitalize()} config, {params / 1e6:.2f} M parameters."
        + ("" if trained else " Random initialisation: NOT trained, output is not a separation."))
    name = args.name or f"{NAMES[arch]} {args.config}"
    man = manifest_for(model, mid, name + ("" if trained else " (untrained)"), onnx_path,
                       params, trained, args.license,
                       f"training/models/{'scunet_spleeter' if args.config == 'spleeter' else arch.split('-')[0]}.py "
                       f"({args.config}); exported by training/export.py"
                       + (f" from {os.path.basename(args.checkpoint)}" if args.checkpoint != "none" else ""),
                       description=desc, overlap=args.overlap)
    if args.residual:
        if args.residual not in man["stems"]:
            raise SystemExit(f"--residual {args.residual}: not one of {man['stems']}")
        man["residual"] = args.residual
    if args.refine:
        method, n_fft, hop = args.refine.split(":")
        if method != "ratio-mask" or man["io"] != "waveform":
            raise SystemExit("--refine: only ratio-mask:NFFT:HOP, for waveform models")
        man["refine"] = {"method": method, "nFft": int(n_fft), "hop": int(hop)}
    old_path = os.path.join(d, "manifest.json")
    if args.update and os.path.exists(old_path):
        with open(old_path) as f:
            kept = json.load(f)
        for k in ("files", "params", "trained", "source"):
            kept[k] = man[k]
        if "--license" in (argv if argv is not None else sys.argv):
            kept["license"] = args.license
        kept.pop("metrics", None)  # measured on the old weights: `npm run metrics` writes the new ones
        man = kept
    with open(old_path, "w") as f:
        json.dump(man, f, indent=2)
        f.write("\n")
    if args.set_default:
        with open(os.path.join(args.out, "index.json"), "w") as f:
            json.dump({"default": mid}, f, indent=2)
            f.write("\n")
    pp = paper_params(arch)
    print(f"{mid}: params {params:,} (paper {'%.1f M' % (pp / 1e6) if pp else 'n/a'}), "
          f"onnx {os.path.getsize(onnx_path) / 1e6:.2f} MB, parity max|y| {par['output']['maxAbs']:.4g}")
    return d


if __name__ == "__main__":
    main()
