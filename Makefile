# The two entry points: `make run` and `make test`. Each sets up everything it needs on a fresh
# machine (virtualenv from the lock file, migrations) and is safe to run again.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck pytest fuzz migrate lock clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/smsgate migrate
	$(BIN)/smsgate run

migrate: $(STAMP)
	$(BIN)/smsgate migrate

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# Two workers (pytest-xdist), one a core: most tests wait on sockets and databases, so the suite
# takes about half as long; PYTEST_WORKERS=0 runs everything in one process.
PYTEST_WORKERS ?= 2

pytest: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# The whole suite: lint, types, then tests against SQLite and PostgreSQL.
test: lint typecheck pytest

# Issue 5's fuzz at full size: 100,000 random and mutated PDUs against the SMPP server (the suite
# sends 2,000). Without pytest's log capture, which would keep every warning in memory.
FUZZ_PDUS ?= 100000

fuzz: $(STAMP)
	SMSGATE_SMPP_FUZZ_PDUS=$(FUZZ_PDUS) $(BIN)/python -m pytest tests/ingress/smpp/test_fuzz.py \
		-p no:logging -o timeout=500 -s -q

lock:
	uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
