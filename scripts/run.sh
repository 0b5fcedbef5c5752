#!/usr/bin/env bash
# Set up and run HMS with demo data: Redis (private, loopback), a Huey worker and the web
# server (gunicorn) on http://127.0.0.1:5000. Safe to run again. Ctrl-C stops everything it
# started.
set -euo pipefail
cd "$(dirname "$0")/.."

[[ -n "${HMS_SKIP_SETUP:-}" ]] || bash scripts/setup.sh

export HMS_INSTANCE_PATH="${HMS_INSTANCE_PATH:-$PWD/instance}"
port="${HMS_PORT:-5000}"
redis_port="${HMS_REDIS_PORT:-6390}"
export HMS_REDIS_URL="${HMS_REDIS_URL:-redis://127.0.0.1:$redis_port/0}"
mkdir -p "$HMS_INSTANCE_PATH"
source .venv/bin/activate

pids=()
stop() {
    local status=$?
    set +e  # a child's exit status must not end the clean-up early
    trap - EXIT INT TERM
    echo "==> Stopping HMS"
    # Newest first: the web server and the worker, then Redis they talk to.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill "${pids[i]}" 2>/dev/null
        wait "${pids[i]}" 2>/dev/null
    done
    exit "$status"
}
trap stop EXIT INT TERM

if redis-cli -u "$HMS_REDIS_URL" ping >/dev/null 2>&1; then
    echo "==> Using the Redis already answering at $HMS_REDIS_URL"
else
    echo "==> Starting Redis on 127.0.0.1:$redis_port"
    redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$HMS_INSTANCE_PATH" \
        --save "" --appendonly no --loglevel warning &
    pids+=($!)
    for _ in $(seq 50); do
        redis-cli -u "$HMS_REDIS_URL" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
fi

hms init-db
hms seed-demo

echo "==> Starting the Huey worker"
huey_consumer tasks.huey -w 2 -k thread &
pids+=($!)

echo "==> HMS is at http://127.0.0.1:$port/ (Ctrl-C to stop)"
HMS_BIND="${HMS_BIND:-127.0.0.1:$port}" gunicorn -c python:hms.gunicorn_conf hms.wsgi:app &
pids+=($!)
wait -n "${pids[@]}"
