#!/usr/bin/env bash
# Install everything HMS needs on a Debian machine, idempotently:
#   Debian packages (Redis, Pango for WeasyPrint; with --test also Chromium, poppler,
#   faketime and PostgreSQL; with --bench, wrk),
#   a virtual environment in .venv with the Python packages, and htmx from npm into static/.
set -euo pipefail
cd "$(dirname "$0")/.."

# python3-venv: Debian's python3 needs it for `-m venv`; Pango and HarfBuzz: WeasyPrint.
apt_packages=(python3-venv redis-server libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
              fonts-dejavu-core)
extras="."
if [[ "${1:-}" == "--test" ]]; then
    # faketime: tests/test_clock.py moves the machine's clock to prove it does not matter.
    # postgresql: the tests run a private PostgreSQL cluster (initdb) on a loopback port.
    apt_packages+=(chromium poppler-utils faketime postgresql)
    extras=".[test]"
elif [[ "${1:-}" == "--bench" ]]; then
    # wrk: the load generator of bench/load.py.
    apt_packages+=(wrk)
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
# Reinstall only when what was asked for changed, so a second run needs no network.
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)-${extras//[^a-z]/}"
if [[ ! -e "$stamp" ]]; then
    echo "==> Installing Python packages"
    .venv/bin/python -m pip install -q --disable-pip-version-check -e "$extras"
    touch "$stamp"
fi

if ! cmp -s package-lock.json node_modules/.hms-lock \
        || [[ ! -e node_modules/htmx.org/dist/ext/hx-preload.min.js ]]; then
    echo "==> Installing htmx from npm (pinned in package-lock.json)"
    npm ci --silent --no-audit --no-fund
    cp package-lock.json node_modules/.hms-lock
fi
# One file, one request: htmx, then its preload extension (a marked link's page is fetched on
# mousedown or touchstart, the ~100 ms before the click), both from the pinned package, then
# our own focus.js (where the focus goes after a swap). The ";" and newline between them keep a
# comment at one's end from swallowing the next.
{ cat node_modules/htmx.org/dist/htmx.min.js; printf ';\n'
  cat node_modules/htmx.org/dist/ext/hx-preload.min.js; printf ';\n'
  cat static/focus.js; } > static/htmx.min.js.new
cmp -s static/htmx.min.js.new static/htmx.min.js && rm static/htmx.min.js.new \
    || mv static/htmx.min.js.new static/htmx.min.js  # unchanged keeps its compressed copies
echo "==> Compressing the static files once (Brotli and gzip copies beside each)"
.venv/bin/python -c "from hms.web import precompress_static; precompress_static('static')"
