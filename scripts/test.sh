#!/usr/bin/env bash
# Install what the tests need (Redis, Chromium, Python test packages, htmx) and run them all.
# The suite runs on every core (pytest-xdist; the calendar matrix multiplies the date-sensitive
# tests). Extra arguments go to pytest, e.g. `bash scripts/test.sh -k booking -x -n 0`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
exec .venv/bin/python -m pytest -n auto "$@"
