# Assay's two commands: `make demo` and `make test`. Both create .venv on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR ?= demo-output
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test lint typecheck layers pytest clean help system-deps

help:
	@echo "make demo   install Assay in .venv and run a bias assessment end to end"
	@echo "make test   install the dev extras and run lint, types, layer contract and every test tier"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[demo]"
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[dev]"
	touch $@ $(VENV)/.installed-demo

demo: $(VENV)/.installed-demo
	$(BIN)/python examples/prepare_arrests.py $(DEMO_DIR)/arrests.csv
	$(BIN)/assay assess $(DEMO_DIR)/arrests.csv \
		--label released=Yes --score p_released --threshold 0.5 \
		--facet colour=Black --facet sex=Female --intersect \
		--group year --out $(DEMO_DIR)/assessment
	@echo ""
	@echo "Demo outputs:"
	@echo "  data:        $(DEMO_DIR)/arrests.csv"
	@echo "  report:      $(DEMO_DIR)/assessment/report.html   (open it in a browser; works offline)"
	@echo "  Clarify fmt: $(DEMO_DIR)/assessment/analysis.json"
	@echo "  Assay doc:   $(DEMO_DIR)/assessment/assessment.json"

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

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

layers: $(VENV)/.installed-dev
	$(BIN)/lint-imports

pytest: $(VENV)/.installed-dev system-deps
	$(BIN)/python -m pytest

test: lint typecheck layers pytest

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache .hypothesis
