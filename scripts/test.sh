#!/usr/bin/env bash
# Install what the tests need (Redis, Chromium, Python test packages, htmx) and run them all.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k booking -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
exec .venv/bin/python -m pytest "$@"
