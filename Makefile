# The two commands of the README: `make run` (the platform on this machine) and `make test` (the test suite).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
RUN_INSTALLED := $(VENV)/.installed-run
EXPORT_INSTALLED := $(VENV)/.installed-export
INSTALLED := $(VENV)/.installed-test
PIP := $(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt

LINTED := app.py functions layers infra benchmarks tests sdk feature_repo
# The import contracts and the type check read this tree's packages, not whatever the virtualenv has installed.
SOURCE_PATH := layers/core/python:layers/embedding/python:sdk:.

.PHONY: install run reset test test-unit package benchmarks embedding-model clean console chromium

# Fresh machine: create the virtualenv and install the project with pinned versions (constraints.txt).
# `make run` needs the runtime, the local stack, MLflow, Feast, the `maestro` CLI (sdk/) and, once, the exporter of
# the embedding model (torch, sentence-transformers); `make test` adds the test tools.
$(RUN_INSTALLED): pyproject.toml constraints.txt sdk/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check "pip<26.3"
	$(PIP) -e ".[local,ml,embedding]"
	$(PIP) -e ./sdk
	touch $@

# torch goes alone and first: the pinned CPU build lies on this machine's disk; left to the resolution of
# sentence-transformers (embedding-build), pip would pull a multi-GB CUDA build.
$(EXPORT_INSTALLED): $(RUN_INSTALLED)
	$(PIP) "torch==2.13.0"
	$(PIP) -e ".[local,ml,embedding,embedding-build]"
	touch $@

$(INSTALLED): $(EXPORT_INSTALLED)
	$(PIP) -e ".[local,dev,ml,embedding,embedding-build]"
	touch $@

# The web console (console/): plain ES modules + Chart.js pinned by package-lock.json, copied into console/dist.
CONSOLE_SOURCES := $(wildcard console/src/*.* console/src/pages/*.js) console/build.mjs console/package.json \
	console/package-lock.json
console/dist/index.html: $(CONSOLE_SOURCES)
	cd console && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent

console: console/dist/index.html

# The browser tests drive Debian's Chromium headless (never a downloaded browser).
chromium:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

install: $(INSTALLED) console/dist/index.html

# The workspace (local AWS state, MLflow) persists in .local-stack/ across runs; `make reset` starts empty.
# RUN_ARGS passes options (`make run RUN_ARGS=--no-demo`; `python -m infra.local.run --help`).
run: embedding-model console/dist/index.html
	$(PY) -m infra.local.run $(RUN_ARGS)

reset: $(RUN_INSTALLED)
	$(PY) -m infra.local.workspace reset

# Unit + integration (moto server over HTTP, started and stopped by the suite) + packaging, with coverage.
test: install embedding-model chromium
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)
	PYTHONPATH=$(SOURCE_PATH) $(VENV)/bin/lint-imports --no-cache
	PYTHONPATH=$(SOURCE_PATH) $(VENV)/bin/mypy
	$(PY) -m pytest --durations=25 --cov --cov-report=term --cov-report=xml:build/coverage.xml $(PYTEST_ARGS)

test-unit: install
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

# The ONNX export of MiniLM that semantic search uses, made once and cached in build/embedding-model (exported
# again only when the weights' package or the exporter changes); `make run` and `make test` reuse it.
embedding-model: $(EXPORT_INSTALLED)
	$(PY) -m infra.embedding_model

package: install
	$(PY) -m infra.package --stage dev

benchmarks: install
	$(PY) benchmarks/cold_start.py

clean:
	rm -rf build .local-stack .pytest_cache console/dist
