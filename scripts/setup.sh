#!/usr/bin/env bash
# Install everything HMS needs on a Debian machine, idempotently:
#   Debian packages (Redis, Pango for WeasyPrint; with --test also Chromium and poppler),
#   a virtual environment in .venv with the Python packages, and htmx from npm into static/.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(redis-server libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core)
extras="."
if [[ "${1:-}" == "--test" ]]; then
    apt_packages+=(chromium poppler-utils)
    extras=".[test]"
fi

missing=()
for pkg in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "==> Installing Debian packages: ${missing[*]}"
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [[ ! -x .venv/bin/python ]]; then
    echo "==> Creating the virtual environment in .venv"
    python3 -m venv .venv
fi
echo "==> Installing Python packages"
.venv/bin/python -m pip install -q --disable-pip-version-check -e "$extras"

echo "==> Installing htmx from npm (pinned in package-lock.json)"
npm ci --silent --no-audit --no-fund
cp node_modules/htmx.org/dist/htmx.min.js static/htmx.min.js
