#!/usr/bin/env bash
# Python tests of the model zoo (Debian's python3-torch, python3-onnx, python3-pytest; no PyPI).
set -euo pipefail
cd "$(dirname "$0")"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
exec "$PY" -m pytest -q -p no:cacheprovider tests "$@"
