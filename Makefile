# The two commands of the set-up contract: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
HOST ?= 127.0.0.1
PORT ?= 5000
export FLASK_APP := wsgi
export TTHC_ENV ?= development
# The receipt's QR code and look-up address point at the server `make run` starts (PORT=N follows),
# unless TTHC_PUBLIC_BASE_URL is set.
ifeq ($(strip $(TTHC_PUBLIC_BASE_URL)),)
export TTHC_PUBLIC_BASE_URL := http://$(HOST):$(PORT)
endif

.PHONY: run test install migrate demo scheduler clean-venv

$(PY):
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(TEST_STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@ $(RUN_STAMP)

install: $(RUN_STAMP)

migrate: $(RUN_STAMP)
	$(FLASK) db upgrade

demo: migrate
	$(FLASK) demo

## Serve the app on http://$(HOST):$(PORT): one process; its in-process scheduler runs the late-case scan.
run: demo
	@echo "Serving on http://$(HOST):$(PORT)  (Ctrl+C to stop)"
	$(FLASK) run --no-reload --host $(HOST) --port $(PORT)

## The scheduler process of a deployment (one per deployment, beside gunicorn).
scheduler: migrate
	$(FLASK) deadlines run-scheduler

## Run the whole test suite (PostgreSQL too when TTHC_TEST_DATABASE_URL is set), one pytest-xdist
## worker per CPU (each worker has its own SQLite files and its own PostgreSQL schema).
## TEST_WORKERS=0 runs it in one process; PYTEST_ARGS adds options (e.g. PYTEST_ARGS="-k scan").
TEST_WORKERS ?= auto
test: $(TEST_STAMP)
	$(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)
