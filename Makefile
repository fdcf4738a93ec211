# autolabel — every target bootstraps what it needs, so a fresh clone works.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck synth bench bench-api openapi serve web clean smoke-aws

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (Python 3.11+)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,aws,cdk]'
	touch $(STAMP)

demo: $(STAMP) web
	AUTOLABEL_HOME=$${AUTOLABEL_HOME:-.autolabel} $(BIN)/autolabel demo --samples samples/images --out demo-output
	@echo "Review in the browser: 'make serve', open the URL it prints, sign in with a token from 'autolabel user add'."

# The review web app (web/, Vite + Preact + TypeScript), built into the package for `autolabel serve`.
# npm ci runs only when the lockfile changes; the build (type-check + bundle) only when a source does.
WEB_BUILD   := src/autolabel/web/static/index.html
WEB_DEPS    := web/node_modules/.installed
WEB_SOURCES := $(shell find web/src -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json

web: $(WEB_BUILD)

$(WEB_DEPS): web/package.json web/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "need Node.js 20+ and npm to build the web app"; exit 1; }
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(WEB_BUILD): $(WEB_DEPS) $(WEB_SOURCES)
	cd web && npm run --silent build

# The browser tests drive Debian's chromium (Playwright cannot download browsers here).
CHROMIUM := /usr/bin/chromium
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium

LINTED  := src tests bench functions infra layers scripts

# Every handler is a module named `handler`, so mypy checks each on its own.
typecheck: $(STAMP)
	$(BIN)/mypy
	$(BIN)/mypy layers/build.py
	for f in functions/*/handler.py; do $(BIN)/mypy --config-file pyproject.toml $$f || exit 1; done

# Test files run in parallel, one worker per core; a file keeps its order (the web tests build on
# each other), hence --dist loadfile. Tests marked serial run after, in pytest's own process: the
# 10,000-input call count spends ~70 s there and over 10 minutes in an xdist worker (mostly
# system time, moto re-sorting a large table on every query).
test: $(STAMP) web $(CHROMIUM)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/lint-imports --no-cache
	$(MAKE) --no-print-directory typecheck
	$(BIN)/python -m pytest -q -n auto --dist loadfile -m "not serial"
	$(BIN)/python -m pytest -q -p no:xdist -m serial

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/lint-imports --no-cache
	$(MAKE) --no-print-directory typecheck

# Offline: builds the layers (pip, manylinux aarch64 wheels), synthesizes with cdk-nag, no AWS
# account needed. npm's aws-cdk CLI is used when present (npx), plain Python otherwise. The stack
# uploads the web app's build (src/autolabel/web/static), so the app is built first (`make web`).
synth: $(STAMP) web
	$(BIN)/python layers/build.py
	if command -v npx >/dev/null 2>&1; then \
		JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 PATH=$(CURDIR)/$(BIN):$$PATH npx --yes aws-cdk@2 synth --quiet; \
	else \
		JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 $(BIN)/python -m infra.app; \
	fi

bench: $(STAMP)
	$(BIN)/python -m bench.throughput
	$(BIN)/python -m bench.throughput --photo-size 4032 --rounds 1
	$(BIN)/python -m bench.routing

bench-api: $(STAMP)
	$(BIN)/python -m bench.api_load

# The document, then the web app's types generated from it (web/src/generated/openapi.ts):
# tsc in `make web` then fails wherever the app no longer matches the API.
openapi: $(STAMP) $(WEB_DEPS)
	$(BIN)/python -m autolabel.api.openapi
	cd web && npm run --silent generate

# After `cdk deploy` and `python -m autolabel.publish`, with the account's credentials (never in
# CI): the whole flow against the deployed stack, PASS/FAIL per step. SMOKE_ARGS="--stack X --region Y".
smoke-aws: $(STAMP)
	$(BIN)/python scripts/smoke_aws.py $(SMOKE_ARGS)

serve: $(STAMP) web
	AUTOLABEL_HOME=$${AUTOLABEL_HOME:-.autolabel} $(BIN)/autolabel serve

clean:
	rm -rf $(VENV) .autolabel demo-output .pytest_cache .mypy_cache web/node_modules src/autolabel/web/static
