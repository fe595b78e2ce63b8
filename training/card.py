#!/usr/bin/env python3
"""Write a bundled model's card (resources/models/<id>.md) from its run log, manifest and the
real-clip eval JSON (`npx stemdeck eval --dataset ../shared/eval/musdb18-7s --model <id> --json`).

  /usr/bin/python3 training/card.py --id demucs-small-v1 --run demucs-small --eval-json /work/logs/eval-demucs.json \
      --speed "27.9x real time end to end (npm run bench, 10-min song)"
"""
from __future__ import annotations

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from validate import write_card  # noqa: E402

ROOT = os.path.dirname(HERE)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--id", required=True, help="bundled model id (resources/models/<id>/manifest.json)")
    ap.add_argument("--run", required=True, help="training run name (training/runs/<run>/log.jsonl)")
    ap.add_argument("--eval-json", help="stemdeck eval --json output on the real clip (report only)")
    ap.add_argument("--speed")
    ap.add_argument("--notes", default="", help="limitations paragraph (default: the generic one)")
    ap.add_argument("--data", choices=["songs", "instrumental", "transfer", "pseudo"], default="songs",
                    help="training data described: generated songs with MIR-1K vocals, --no-vocals accompaniments, or "
                         "the Spleeter transfer (generated songs + real soundtracks + distillation), or a seed continued "
                         "on generated songs + real soundtracks with the teacher's pseudo-stems")
    ap.add_argument("--exported", choices=["best", "last", "best-real"], default="best",
                    help="which checkpoint was exported (best-real: best on train.py --valid-real)")
    a = ap.parse_args()
    models = os.path.join(ROOT, "resources", "models")
    real = json.load(open(a.eval_json)) if a.eval_json else None
    write_card(a.id, a.run, os.path.join(models, a.id, "manifest.json"), real, os.path.join(models, f"{a.id}.md"),
               speed=a.speed, notes=a.notes, data=a.data, exported=a.exported)


if __name__ == "__main__":
    main()
