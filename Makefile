# Work Accounts portal. `make run` and `make test` are all a new machine needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
CHROMIUM := /usr/bin/chromium
XMLSEC1 := /usr/bin/xmlsec1
REDIS_SERVER := /usr/bin/redis-server
HAPROXY := /usr/sbin/haproxy
# `make run` is the production server path (gunicorn + WhiteNoise, DEBUG off) on the embedded
# defaults (SQLite, eager Celery, console mail): config/settings/embedded.py.
EMBEDDED := DJANGO_SETTINGS_MODULE=config.settings.embedded
WEB_CONCURRENCY ?= 2

.PHONY: run dev test test-sqlite test-postgres lint format migrate worker beat bench bench-large clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python $(XMLSEC1)
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python $(CHROMIUM) $(XMLSEC1) $(REDIS_SERVER) $(HAPROXY)
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(VENV)/.installed $@

# Browser tests drive Debian's Chromium; install it when it is missing (needs root or sudo).
$(CHROMIUM):
	scripts/apt-install chromium

# The delivery fault tests start their own Redis (and stop it) beside the shared one.
$(REDIS_SERVER):
	scripts/apt-install redis-server

# The scale-out test and benchmark (tests/cluster.py) put HAProxy in front of the web nodes.
$(HAPROXY):
	scripts/apt-install haproxy

# Single sign-on (pysaml2) signs and verifies XML with Debian's xmlsec1; install it when missing.
$(XMLSEC1):
	scripts/apt-install xmlsec1

## run: install, migrate, collect static files, seed the demo organization (contoso), serve with
## gunicorn (config/gunicorn.py) on http://$(HOST):$(PORT)
run: $(VENV)/.installed
	$(EMBEDDED) $(BIN)/python manage.py migrate --noinput
	$(EMBEDDED) $(BIN)/python manage.py collectstatic --noinput -v 0
	$(EMBEDDED) $(BIN)/python manage.py seed_demo --base-url http://$(HOST):$(PORT)
	$(EMBEDDED) PORTAL_BASE_URL=http://$(HOST):$(PORT) GUNICORN_BIND=$(HOST):$(PORT) WEB_CONCURRENCY=$(WEB_CONCURRENCY) $(BIN)/gunicorn config.wsgi:application -c config/gunicorn.py

## dev: Django's development server with autoreload and DEBUG on (config/settings/development.py)
dev: $(VENV)/.installed
	DJANGO_SETTINGS_MODULE=config.settings.development $(BIN)/python manage.py migrate --noinput
	DJANGO_SETTINGS_MODULE=config.settings.development $(BIN)/python manage.py seed_demo --base-url http://$(HOST):$(PORT)
	DJANGO_SETTINGS_MODULE=config.settings.development $(BIN)/python manage.py runserver $(HOST):$(PORT)

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
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python manage.py makemigrations --check --dry-run

format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate: $(VENV)/.installed
	$(EMBEDDED) $(BIN)/python manage.py migrate --noinput

## worker: a Celery worker against REDIS_URL (the embedded default runs tasks eagerly instead)
worker: $(VENV)/.installed
	$(EMBEDDED) $(BIN)/celery -A config worker --loglevel=info

## beat: the Celery scheduler (log retention, outbox re-queue, connection health and digests)
beat: $(VENV)/.installed
	$(EMBEDDED) $(BIN)/celery -A config beat --loglevel=info --schedule $(VENV)/celerybeat-schedule

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/scim_users.py

bench-large: $(VENV)/.installed-test
	$(BIN)/python benchmarks/scim_users.py --accounts 100000

## bench-logs: provisioning log cost per SCIM request, and the admin event list with 1M events
.PHONY: bench-logs
bench-logs: $(VENV)/.installed-test
	$(BIN)/python benchmarks/provisioning_logs.py

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .embedded-secret-key

## bench-cluster: an Entra initial cycle of 2,000 users through HAProxy, with 1 and then 2 web nodes
.PHONY: bench-cluster
bench-cluster: $(VENV)/.installed-test
	$(BIN)/python benchmarks/cluster.py

## screenshots: PNGs of the main pages at 1440 and 390 px into screenshots/ (git-ignored; not in CI)
.PHONY: screenshots
screenshots: $(VENV)/.installed-test
	$(BIN)/python scripts/screenshots.py --out screenshots
