# OnePage: the commands people run often. `make run` and `make test` are the two
# a newcomer needs; see README.md.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q

.PHONY: run test lint format bench worker recorder beat migrate seed clean

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(PIP) install -r requirements-dev.txt
	touch $@

migrate: $(VENV)/.runtime
	mkdir -p var
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

## Set everything up on the embedded default and serve http://127.0.0.1:8000
run: seed
	$(PY) manage.py runserver 127.0.0.1:8000

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
	$(BENCH_ENV) $(PY) bench/pixel.py
	$(BENCH_ENV) $(PY) bench/reports.py

## With REDIS_URL set: a Celery worker (sending, draining opens) and its beat
worker: $(VENV)/.runtime
	$(VENV)/bin/celery -A onepage worker -B -l info

## With REDIS_URL set: the open recorder (drains the pixel stream into the database)
recorder: $(VENV)/.runtime
	$(PY) manage.py record_opens

clean:
	rm -rf $(VENV) var
