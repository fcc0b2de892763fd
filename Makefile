# OnePage: the commands people run often. `make run` and `make test` are the two
# a newcomer needs; see README.md.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q

.PHONY: run serve test lint format bench worker recorder beat migrate seed clean

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime node_modules/.installed
	$(PIP) install -r requirements-dev.txt
	touch $@

# axe-core, which the browser tests inject to check accessibility.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

migrate: $(VENV)/.runtime
	mkdir -p var
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

## Set everything up on the embedded default and serve http://127.0.0.1:8000
run: seed
	$(PY) manage.py runserver 127.0.0.1:8000

## Production on this machine: granian + worker + beat, DEBUG=false, PostgreSQL and Redis
## on 127.0.0.1 (override any variable; a real deployment uses deploy/, see README.md)
SERVE_ENV := DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/onepage} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} \
	SECRET_KEY=$${SECRET_KEY:-$$(cat var/secret_key)} \
	SITE_URL=$${SITE_URL:-https://onepage.example.com} \
	ALLOWED_HOSTS=$${ALLOWED_HOSTS:-127.0.0.1,localhost} \
	CSRF_TRUSTED_ORIGINS=$${CSRF_TRUSTED_ORIGINS:-http://127.0.0.1:8000,http://localhost:8000} \
	SECURE_SSL_REDIRECT=$${SECURE_SSL_REDIRECT:-false} \
	SESSION_COOKIE_SECURE=$${SESSION_COOKIE_SECURE:-false} CSRF_COOKIE_SECURE=$${CSRF_COOKIE_SECURE:-false}
serve: $(VENV)/.runtime var/secret_key
	$(SERVE_ENV) ./scripts/serve.sh

# A secret key of this machine's own for `make serve`, made once.
var/secret_key:
	mkdir -p var
	$(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))' > $@
	chmod 600 $@

## Install what the tests need, run the suite on SQLite, then on PostgreSQL + Redis
test: $(VENV)/.dev
	./scripts/test.sh

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## Benchmarks against PostgreSQL and Redis on 127.0.0.1, see bench/ and README.md
BENCH_ENV := DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/onepage_bench} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/14}
bench: $(VENV)/.dev
	command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	command -v nginx >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light)
	$(BENCH_ENV) $(PY) bench/pixel_load.py
	$(BENCH_ENV) $(PY) bench/pixel.py
	$(BENCH_ENV) $(PY) bench/reports.py
	$(BENCH_ENV) $(PY) bench/servers.py
	$(BENCH_ENV) $(PY) bench/imap_sync.py
	$(BENCH_ENV) $(PY) bench/feed.py
	$(BENCH_ENV) $(PY) bench/outreach.py
	$(BENCH_ENV) $(PY) bench/contact_grid.py
	$(BENCH_ENV) $(PY) bench/charts_compare.py
	$(BENCH_ENV) $(PY) bench/live_channel.py

## With REDIS_URL set: a Celery worker (sending, draining opens) and its beat
worker: $(VENV)/.runtime
	$(VENV)/bin/celery -A onepage worker -B -l info

## With REDIS_URL set: the open recorder (drains the pixel stream into the database)
recorder: $(VENV)/.runtime
	$(PY) manage.py record_opens

clean:
	rm -rf $(VENV) var node_modules
