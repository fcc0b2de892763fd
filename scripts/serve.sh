#!/usr/bin/env bash
# The production processes on this machine, in the foreground: granian (web,
# WSGI; live, ASGI: the bell's stream), a Celery worker, beat and the recorder
# of opens, with DEBUG=false against PostgreSQL and Redis.
# Settings come from the environment or .env (deploy/env.example lists them).
# Stops everything on Ctrl-C, or when any one of them exits.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

: "${DEBUG:=false}"
: "${WEB_BIND:=127.0.0.1}"
: "${WEB_PORT:=8000}"
: "${WEB_WORKERS:=2}"
: "${WEB_THREADS:=4}"
: "${LIVE_PORT:=8001}"
: "${LIVE_WORKERS:=1}"
export DEBUG

mkdir -p var
"$BIN/python" manage.py migrate --noinput
"$BIN/python" manage.py collectstatic --noinput --verbosity 0
"$BIN/python" manage.py check --deploy --fail-level ERROR

pids=()
cleanup() {
  trap - EXIT INT TERM
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

"$BIN/granian" --interface wsgi --host "$WEB_BIND" --port "$WEB_PORT" --workers "$WEB_WORKERS" \
  --blocking-threads "$WEB_THREADS" --respawn-failed-workers --log-level warning onepage.wsgi:application &
pids+=($!)
# The bell's live channel (ASGI, /alerts/stream/): reached through a proxy
# that sends that path here (deploy/nginx.conf.example). Without one, the
# pages on WEB_PORT ask the WSGI process, which answers 204: they poll.
CONN_MAX_AGE=0 "$BIN/granian" --interface asgi --host "$WEB_BIND" --port "$LIVE_PORT" --workers "$LIVE_WORKERS" \
  --respawn-failed-workers --log-level warning onepage.asgi:application &
pids+=($!)
"$BIN/celery" -A onepage worker --loglevel INFO --concurrency 2 &
pids+=($!)
"$BIN/celery" -A onepage beat --loglevel INFO &
pids+=($!)
"$BIN/python" manage.py record_opens &
pids+=($!)
echo "OnePage serving on http://$WEB_BIND:$WEB_PORT (web, live on $LIVE_PORT, worker, beat, recorder); Ctrl-C stops all."
wait -n "${pids[@]}"
echo "A process exited: stopping the others." >&2
exit 1
