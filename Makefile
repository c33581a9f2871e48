# Gazette — `make run` to read the site, `make test` to check it.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
FLASK  := $(VENV)/bin/flask --app app
HOST   ?= 127.0.0.1
PORT   ?= 5000
WORKERS ?= 3

.PHONY: run test lint format bench venv db clean screenshots

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

## Create or upgrade the database; add the demo content when it is empty.
db: venv
	$(FLASK) db upgrade
	$(FLASK) seed-demo --if-empty

## Serve the site on http://$(HOST):$(PORT) with gunicorn (SQLite under instance/ by default).
run: db
	@echo "Gazette on http://$(HOST):$(PORT)/  (Ctrl-C stops it)"
	$(VENV)/bin/gunicorn --workers $(WORKERS) --bind $(HOST):$(PORT) --no-control-socket --access-logfile - 'app:create_app()'

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## Lint, then the whole suite on SQLite, then again on PostgreSQL when TEST_DATABASE_URL is set.
test: lint
	env -u TEST_DATABASE_URL $(PY) -m pytest $(PYTEST_ARGS)
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== the same suite on $$TEST_DATABASE_URL"; \
		$(PY) -m pytest $(PYTEST_ARGS); \
	fi

## Build a benchmark site, load it with wrk under gunicorn, print the table (also bench/results.md).
## BENCH_ARGS="--growth" adds the 1,000,000-comment site; see bench/README.md.
bench: venv
	$(PY) bench/run.py $(BENCH_ARGS)

screenshots: venv
	$(PY) scripts/screenshot.py http://$(HOST):$(PORT) / $(PAGES)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
