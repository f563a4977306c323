# Work Accounts portal. `make run` and `make test` are all a new machine needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
CHROMIUM := /usr/bin/chromium
XMLSEC1 := /usr/bin/xmlsec1
REDIS_SERVER := /usr/bin/redis-server
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-sqlite test-postgres lint format migrate worker beat bench bench-large clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python $(XMLSEC1)
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python $(CHROMIUM) $(XMLSEC1) $(REDIS_SERVER)
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(VENV)/.installed $@

# Browser tests drive Debian's Chromium; install it when it is missing (needs root or sudo).
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium

# The delivery fault tests start their own Redis (and stop it) beside the shared one.
$(REDIS_SERVER):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq redis-server

# Single sign-on (pysaml2) signs and verifies XML with Debian's xmlsec1; install it when missing.
$(XMLSEC1):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq xmlsec1

## run: install, migrate, seed the demo organization (contoso), serve on http://$(HOST):$(PORT)
run: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --base-url http://$(HOST):$(PORT)
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

## test: the whole suite on SQLite, then again on PostgreSQL (DATABASE_URL, or the local server)
test: $(VENV)/.installed-test
	$(BIN)/python tests/run_suite.py

test-sqlite: $(VENV)/.installed-test
	$(BIN)/python tests/run_suite.py --only sqlite

test-postgres: $(VENV)/.installed-test
	$(BIN)/python tests/run_suite.py --only postgres

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput

## worker: a Celery worker against REDIS_URL (the embedded default runs tasks eagerly instead)
worker: $(VENV)/.installed
	$(BIN)/celery -A config worker --loglevel=info

## beat: the Celery scheduler (log retention, outbox re-queue, connection health and digests)
beat: $(VENV)/.installed
	$(BIN)/celery -A config beat --loglevel=info --schedule $(VENV)/celerybeat-schedule

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/scim_users.py

bench-large: $(VENV)/.installed-test
	$(BIN)/python benchmarks/scim_users.py --accounts 100000

## bench-logs: provisioning log cost per SCIM request, and the admin event list with 1M events
.PHONY: bench-logs
bench-logs: $(VENV)/.installed-test
	$(BIN)/python benchmarks/provisioning_logs.py

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles

## screenshots: PNGs of the main pages at 1440 and 390 px into screenshots/ (git-ignored; not in CI)
.PHONY: screenshots
screenshots: $(VENV)/.installed-test
	$(BIN)/python scripts/screenshots.py --out screenshots
