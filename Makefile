# EpochScope: `make run` serves the dashboard, `make test` runs the whole suite. Both set themselves up.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8050

.PHONY: run serve test test-fast lint bench system clean

$(VENV)/.runtime: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade --quiet pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime
	$(PY) app.py --host $(HOST) --port $(PORT) $(if $(LOGDIR),--logdir $(LOGDIR))

# Debian's chromium and chromedriver for the browser tests, redis-server for the Celery test and Node.js with npm for
# the JavaScript tests and ESLint (installed when missing and we may use apt-get)
system:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null && command -v redis-server >/dev/null \
	  && command -v node >/dev/null && command -v npm >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver redis-server \
	      $$(command -v node >/dev/null || echo nodejs) $$(command -v npm >/dev/null || echo npm); \
	  else echo "Install chromium, chromium-driver, redis-server, nodejs and npm (as root: apt-get install chromium chromium-driver redis-server nodejs npm)"; exit 1; fi; }

# production: gunicorn, WORKERS processes x 4 threads sharing the store ($$EPOCHSCOPE_HOME); README "Serving many users"
WORKERS ?= 4
serve: $(VENV)/.runtime
	$(VENV)/bin/gunicorn --worker-class epochscope.app.http_worker.Worker --workers $(WORKERS) --threads 4 --bind $(HOST):$(PORT) --timeout 120 epochscope.app.wsgi:server

# ESLint and its configs from npm (package.json, package-lock.json), for make lint
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# lint: ruff (pyproject.toml [tool.ruff]), mypy ([tool.mypy]) and ESLint over the page's JavaScript
# (eslint.config.js)
lint: $(VENV)/.dev node_modules/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	npx --no-install eslint assets tests/js eslint.config.js

# everything: lint, the JavaScript's tests, every Python test (Chromium, redis, gunicorn included)
test: system lint
	node --test tests/js/*.test.js
	$(PY) -m pytest

# without Chromium or Redis: lint, the JavaScript's tests and every Python test that needs neither
test-fast: lint
	node --test tests/js/*.test.js
	$(PY) -m pytest -m "not browser"

bench: $(VENV)/.dev
	$(PY) -m benchmarks.layout_bench

clean:
	rm -rf $(VENV) node_modules .pytest_cache .hypothesis
