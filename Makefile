# Two commands for a newcomer: `make run` (the app against the offline tenant) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
AZURITE := node_modules/.bin/azurite
# checkov gets its own virtual environment: its pins clash with the app's.
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov

.PHONY: run test install lint infra-check clean mutation

install: $(STAMP) $(AZURITE)

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $@

$(AZURITE): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CHECKOV): infra/requirements-checks.txt infra/constraints-checks.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r infra/requirements-checks.txt -c infra/constraints-checks.txt
	touch $@

# The Bicep checks (checkov, tree-sitter-bicep, settings): tests/test_infra.py, marker `infra`.
infra-check: $(STAMP) $(CHECKOV)
	$(PY) -m pytest -m infra

# `make run TELEMETRY_CONSOLE=true`: the app's spans, metrics and logs on the terminal (docs/telemetry.md).
run: install
	$(PY) -m devstack up

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# Random order (pytest-randomly): the run prints "Using --randomly-seed=N"; replay a failure with
# `$(PY) -m pytest -m "not infra" -p randomly --randomly-seed=N`.
# PYTEST_ARGS: e.g. `make test PYTEST_ARGS=--randomly-seed=N` to replay one order (.ci/run does).
PYTEST_ARGS ?=
test: install lint infra-check
	$(PY) -m pytest -m "not infra" -p randomly $(PYTEST_ARGS)

# Mutation testing by hand (not in CI): one mutation at a time against the tests that run the
# mutated line (benchmarks/README.md). `make mutation MODULE=shared/http.py` for one module.
mutation: $(STAMP)
	nice -n 19 $(PY) benchmarks/mutation.py $(if $(MODULE),--module $(MODULE))

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) node_modules .devstack .pytest_cache .mypy_cache .ruff_cache
