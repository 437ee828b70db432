# The two commands of the set-up contract: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 5000
export FLASK_APP := wsgi
export TTHC_ENV ?= development

.PHONY: run test install migrate demo scheduler clean-venv

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	$(FLASK) db upgrade

demo: migrate
	$(FLASK) demo

## Serve the app on http://$(HOST):$(PORT) (single process; the in-process scheduler runs the scan).
run: demo
	@echo "Serving on http://$(HOST):$(PORT)  (Ctrl+C to stop)"
	$(FLASK) run --no-reload --host $(HOST) --port $(PORT)

## Run the whole test suite (PostgreSQL too when TTHC_TEST_DATABASE_URL is set).
test: $(STAMP)
	$(PY) -m pytest

clean-venv:
	rm -rf $(VENV)
