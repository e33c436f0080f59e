# Each target bootstraps .venv on first use, so a fresh clone needs only `make demo` / `make test`.
# .venv holds exactly requirements.lock (versions and hashes the tests ran against) plus bondtape
# itself; `make lock` re-resolves pyproject.toml's ranges to the newest releases into the lock.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock

.PHONY: demo test soak bench lint lock clean

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "bondtape needs Python 3.11+"'
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/bondtape demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

soak: $(STAMP)
	BONDTAPE_SOAK_S=$${BONDTAPE_SOAK_S:-3600} $(BIN)/python -m pytest -q -s -m soak tests/reliability

bench: $(STAMP)
	$(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Universal (any OS and Python >= 3.11) and with every file's hash; PyPI only, so no index of
# this machine is written into the lock. Run after changing a dependency in pyproject.toml.
# It needs only uv, not a .venv that matches the lock: a stale or broken lock is what it fixes.
lock:
	test -x $(BIN)/uv || $(MAKE) $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		--generate-hashes --upgrade --custom-compile-command 'make lock' --output-file $(LOCK)

clean:
	rm -rf $(VENV) build *.egg-info
