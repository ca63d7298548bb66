# The two commands of the README: `make run` (the platform on this machine) and `make test` (the test suite).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: install run test test-unit package benchmarks clean

# Fresh machine: create the virtualenv and install the project with pinned versions (constraints.txt).
$(INSTALLED): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check "pip<26.3"
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[local,dev,ml]"
	touch $@

install: $(INSTALLED)

run: install
	$(PY) -m infra.local.run

# Unit + integration (moto server over HTTP, started and stopped by the suite) + packaging, with coverage.
test: install
	$(VENV)/bin/ruff check app.py functions layers infra benchmarks tests
	$(PY) -m pytest --cov --cov-report=term --cov-report=xml:build/coverage.xml $(PYTEST_ARGS)

test-unit: install
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

package: install
	$(PY) -m infra.package --stage dev

benchmarks: install
	$(PY) benchmarks/cold_start.py

clean:
	rm -rf build .local-stack .pytest_cache
