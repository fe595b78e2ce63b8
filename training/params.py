#!/usr/bin/env python3
"""Parameter counts: our `paper` and `small` configurations vs the figure each paper reports.

  /usr/bin/python3 training/params.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from models import ARCHS, build_model, count_params, paper_params  # noqa: E402


def main():
    print(f"{'arch':18s} {'paper config':>14s} {'reported':>12s} {'small':>10s}")
    for arch in ARCHS:
        p = build_model(arch, "paper")
        n_paper = count_params(p)
        del p
        n_small = count_params(build_model(arch, "small"))
        rep = paper_params(arch)
        print(f"{arch:18s} {n_paper / 1e6:12.2f} M {(f'{rep / 1e6:.1f} M' if rep else 'n/a'):>12s} {n_small / 1e6:8.2f} M")


if __name__ == "__main__":
    main()
