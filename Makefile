# Two commands for a fresh machine: `make demo` and `make test`.
# Both create .venv from the pinned lock files (uv when available, else pip) and compile
# bytecode (the installed packages' and toolkit's own), because these machines set
# PYTHONDONTWRITEBYTECODE.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV     := $(shell command -v uv 2>/dev/null)

ifdef UV
INSTALL = $(UV) pip install --python $(BIN)/python --compile-bytecode
MKVENV  = $(UV) venv --python $(PYTHON) $(VENV)
else
INSTALL = $(BIN)/python -m pip install --quiet --disable-pip-version-check --compile
MKVENV  = $(PYTHON) -m venv $(VENV)
endif

.PHONY: demo test lint bench lock clean

$(BIN)/python:
	$(MKVENV)

$(VENV)/.runtime: $(BIN)/python requirements/runtime.lock requirements/build.lock pyproject.toml
	$(INSTALL) -r requirements/runtime.lock -r requirements/build.lock
	$(INSTALL) --no-deps --no-build-isolation -e .
	$(BIN)/python -m compileall -q toolkit  # the editable package's own bytecode (0.3 s a command)
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements/dev.lock
	$(INSTALL) -r requirements/dev.lock
	touch $@

demo: $(VENV)/.runtime
	$(BIN)/ptw demo

test: $(VENV)/.dev
	$(BIN)/ruff check toolkit tests benchmarks analysis reports requirements
	$(BIN)/ruff format --check toolkit tests benchmarks analysis reports requirements
	$(BIN)/python -m pytest -n 2 --dist loadscope

lint: $(VENV)/.dev
	$(BIN)/ruff check toolkit tests benchmarks analysis reports requirements
	$(BIN)/ruff format --check toolkit tests benchmarks analysis reports requirements

bench: $(VENV)/.dev
	$(BIN)/python benchmarks/run.py

# Re-resolve the lock files from requirements/*.in (needs PyPI).
lock: $(BIN)/python
	$(BIN)/python requirements/lock.py

clean:
	rm -rf $(VENV) out .pytest_cache
