#!/usr/bin/env bash
# Install what the tests need (Redis, PostgreSQL, Chromium, Python test packages, htmx) and run
# the whole suite twice: on SQLite, then on PostgreSQL (a private cluster the tests start on a
# loopback port). Each pass runs on every core (pytest-xdist; the calendar matrix multiplies the
# date-sensitive tests). Extra arguments go to pytest in both passes, e.g.
# `bash scripts/test.sh -k booking -x`; HMS_TEST_ENGINES=sqlite runs one pass only.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
status=0
for engine in ${HMS_TEST_ENGINES:-sqlite postgresql}; do
    echo "==> The suite on $engine"
    .venv/bin/python -m pytest -n auto --engine "$engine" "$@" || status=$?
done
exit "$status"
