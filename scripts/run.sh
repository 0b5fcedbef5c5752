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
mkdir -p "$HMS_INSTANCE_PATH"
# Redis's password, generated once and kept in the instance folder like the secret key. Huey
# unpickles what it finds in its queue, so only HMS may reach this Redis.
redis_conf="$HMS_INSTANCE_PATH/redis.conf"
if [[ ! -s "$redis_conf" ]]; then
    (umask 077 && printf 'requirepass %s\n' "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
        > "$redis_conf")
fi
redis_password="$(sed -n 's/^requirepass //p' "$redis_conf")"
export HMS_REDIS_URL="${HMS_REDIS_URL:-redis://:$redis_password@127.0.0.1:$redis_port/0}"
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
    echo "==> Starting Redis on 127.0.0.1:$redis_port (append-only file in $HMS_INSTANCE_PATH)"
    # The password is read from the file, so it never shows in the process list. The queue
    # survives a restart in the append-only file (written every second); the database stays
    # the record of all work, so a lost second only delays it (the sweep hands it out again).
    redis-server "$redis_conf" --port "$redis_port" --bind 127.0.0.1 \
        --dir "$HMS_INSTANCE_PATH" --save "" --appendonly yes --appendfsync everysec \
        --loglevel warning &
    pids+=($!)
    for _ in $(seq 50); do
        redis-cli -u "$HMS_REDIS_URL" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
fi

hms init-db
hms seed-demo

echo "==> Starting the Huey worker"
# SIGTERM (what this script and supervisors send) lets running tasks finish for up to 60 s;
# anything still held after that is taken back by the sweep when its lease runs out.
huey_consumer tasks.huey -w 2 -k thread -g TERM -t 60 &
pids+=($!)

echo "==> HMS is at http://127.0.0.1:$port/ (Ctrl-C to stop)"
HMS_BIND="${HMS_BIND:-127.0.0.1:$port}" gunicorn -c python:hms.gunicorn_conf hms.wsgi:app &
pids+=($!)
wait -n "${pids[@]}"
