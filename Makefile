# Tandem — the two commands that matter: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
SERVICES := $(patsubst %/pyproject.toml,%,$(wildcard services/*/pyproject.toml))
PACKAGES := shared $(SERVICES)
INSTALLED := $(VENV)/.installed

.PHONY: install run test test-quick bench lint clean

install: $(INSTALLED)

# Reinstall whenever a package's dependencies or the pinned constraints change.
$(INSTALLED): constraints.txt requirements-dev.txt $(addsuffix /pyproject.toml,$(PACKAGES))
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed (set PYTHON=...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -r requirements-dev.txt \
		-e 'shared[dev]' $(foreach p,$(SERVICES),-e $(p)) --config-settings editable_mode=compat
	touch $@

run: install  ## the whole platform locally, with demo data (Ctrl-C stops it)
	$(BIN)/tandem run

test: install  ## the whole suite, slow fault and fuzz runs included
	$(BIN)/python -m pytest -q

test-quick: install  ## the suite without the slow, bounded fault and fuzz runs
	$(BIN)/python -m pytest -q -m "not slow"

bench: install  ## benchmarks; results belong in BENCHMARKS.md
	$(BIN)/python bench/kernel.py
	@for script in $(filter-out bench/kernel.py bench/_%.py,$(wildcard bench/*.py)); do $(BIN)/python $$script || exit 1; done

lint: install
	$(BIN)/ruff format --check shared services tests bench
	$(BIN)/ruff check shared services tests bench
	$(BIN)/mypy shared/tandem_kernel

clean:
	rm -rf $(VENV) .tandem .pytest_cache .mypy_cache .ruff_cache
