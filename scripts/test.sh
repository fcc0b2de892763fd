#!/usr/bin/env bash
# Runs the whole suite twice: on SQLite (the embedded default) and on
# PostgreSQL + Redis. Under CI=true both runs and the browser tests are required.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
CI=${CI:-false}

# A browser for the Playwright tests: Debian's chromium where apt is available,
# otherwise Playwright's own download.
if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "== installing Debian's chromium for the browser tests"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    $PY -m playwright install chromium
  fi
fi

# Debian's package $2 for the tests that need the command $1 (started by the
# fixtures in temporary directories, never as system services); required under CI=true.
need() {
  if ! command -v "$1" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$1" ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      echo "== installing Debian's $2 for the $3"
      apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
    elif [ "$CI" = "true" ]; then
      echo "$1 ($2) is required under CI=true" >&2
      exit 1
    fi
  fi
}
# A real IMAP server for the mailbox sync tests.
need dovecot dovecot-imapd "IMAP tests"
# nginx for the deploy tests (onepage/tests/test_deploy.py): `nginx -t` and a
# live nginx on deploy/nginx.conf.example, in a temporary prefix, never /etc/nginx.
need nginx nginx-light "deploy tests"
# sudo for the test of the README's manage function (it runs commands as the service user).
need sudo sudo "deploy tests"

PG_URL=${TEST_DATABASE_URL:-${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/onepage}}
RD_URL=${TEST_REDIS_URL:-${REDIS_URL:-redis://127.0.0.1:6379/15}}

reachable() {
  $PY - "$PG_URL" "$RD_URL" <<'PYEOF'
import sys
import psycopg2, redis
from onepage import redis_url
from onepage.database_url import database_config
# The project's own reading of the URL: libpq's multi-host form included.
pg = database_config(sys.argv[1])
try:
    psycopg2.connect(host=pg["HOST"], port=pg["PORT"] or 5432, user=pg["USER"], password=pg["PASSWORD"] or None,
                     dbname="postgres", connect_timeout=3, target_session_attrs="any").close()
    redis_url.client(sys.argv[2], socket_connect_timeout=3).ping()  # a Sentinel address too
except Exception as exc:
    print(f"not reachable: {exc}")
    sys.exit(1)
PYEOF
}

# The second run includes the fault suite (tests/faults: its own Redis and
# PostgreSQL, killed and restarted; its table goes to var/faults-summary.txt)
# and every browser test. A page is the same page on either database, so
# when the second run follows, the first leaves the browser tests to it
# (226 of its 711 s on a quiet machine); without PostgreSQL and Redis the
# first run takes them.
if reachable; then
  echo "== run 1/2: SQLite, Celery eager, no Redis (the browser tests run in 2/2)"
  # Exit status 5: every test asked for was a browser test (none left to run here).
  env -u DATABASE_URL -u REDIS_URL $PY -m pytest -m "not browser" "$@" || [ $? -eq 5 ]
  echo "== run 2/2: PostgreSQL ($PG_URL) + Redis ($RD_URL), with the browser tests"
  DATABASE_URL=$PG_URL REDIS_URL=$RD_URL $PY -m pytest "$@"
elif [ "$CI" = "true" ]; then
  echo "PostgreSQL and Redis are required under CI=true" >&2
  exit 1
else
  echo "== run 1/2: SQLite, Celery eager, no Redis"
  env -u DATABASE_URL -u REDIS_URL $PY -m pytest "$@"
  echo "== run 2/2 skipped: PostgreSQL or Redis not reachable (set DATABASE_URL and REDIS_URL)"
fi
