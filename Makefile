# photoclip — `make help` lists the targets.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PILLOW_SDIST := .cache/pillow-sdist

.DEFAULT_GOAL := help
.PHONY: help run test venv venv-test lint format typecheck pytest test-data bench clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-16s %s\n", $$1, $$2}'

$(BIN)/photoclip: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e .
	touch $@

venv: $(BIN)/photoclip ## Create .venv and install photoclip into it

venv-test: venv ## Install the test tools too
	$(BIN)/pip install -q -e '.[test]'

run: venv ## Install (first time) and launch the app
	$(BIN)/photoclip

test: venv-test test-data lint typecheck pytest ## Install everything and run all checks and tests

lint: ## ruff lint and format check
	$(BIN)/ruff check photoclip tests tools bench
	$(BIN)/ruff format --check photoclip tests tools bench

format: ## Apply ruff formatting and fixes
	$(BIN)/ruff check --fix photoclip tests tools bench
	$(BIN)/ruff format photoclip tests tools bench

typecheck: ## mypy over the package
	$(BIN)/mypy

pytest: ## Run the test suite (fails when no test ran)
	QT_QPA_PLATFORM=offscreen $(BIN)/pytest

test-data: $(PILLOW_SDIST)/.done ## Fetch Pillow's broken/unusual test images (its source distribution)

$(PILLOW_SDIST)/.done:
	mkdir -p $(PILLOW_SDIST)
	$(BIN)/pip download -q --no-deps --no-binary :all: -d $(PILLOW_SDIST) \
		"pillow==$$($(BIN)/python -c 'import PIL; print(PIL.__version__)')"
	cd $(PILLOW_SDIST) && tar xzf pillow-*.tar.gz --wildcards '*/Tests/images/*' && mv pillow-*/Tests/images images && rm -rf pillow-*/
	touch $@

bench: venv-test ## Indexing and search benchmarks (prints figures; not a test)
	$(BIN)/python -m bench.bench_index

clean: ## Remove caches and build output (keeps .venv)
	rm -rf .cache build dist .pytest_cache .mypy_cache .ruff_cache
