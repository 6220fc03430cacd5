# The two commands: `make run` serves the demo, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
# `make run PORT=8001` when 8000 is taken.
PORT ?= 8000
# Tests use this Postgres server (a scratch database per test worker is created and dropped).
CLIENTSCORE_TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
export CLIENTSCORE_TEST_POSTGRES_URL
# The venv and the checkout are the project's own: Python writes their bytecode the first time a
# module is imported, even where PYTHONDONTWRITEBYTECODE is set (as in many containers), so
# no process compiles the same module again (uv installs without compiling every package).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test pytest lint typecheck unit reproduce screenshots bench bench-import bench-classify bench-book soak \
	bench-strategy bench-desk clean

# uv installs the project and its tools into the venv: about 10 s in a fresh clone, against
# about a minute for pip, which also compiled every module of every package. uv itself sits in
# the venv's uv/ folder (the venv has no pip: `$(VENV)/uv/bin/uv pip` serves instead).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv --clear --without-pip $(VENV)
	$(PYTHON) -m pip install --quiet --target $(VENV)/uv 'uv>=0.13.10,<0.14'
	$(VENV)/uv/bin/uv pip install --quiet --python $(BIN)/python -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

run: $(STAMP)
	$(BIN)/clientscore demo --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# Every test but the `slow` ones (pyproject.toml deselects them): `make reproduce` runs those.
# The checks run beside the tests, whose three workers take whole files (a file's started
# servers serve all its tests) in the order collected, the end-to-end files first.
test: $(STAMP)
	$(MAKE) --no-print-directory --output-sync=target -j3 lint typecheck pytest

# Bytecode is written first, once, rather than by the three test workers at once: the
# checkout's, then, by collecting the tests in one process, that of every package the tests and
# a served app import and pytest's rewritten test modules.
# Three test workers share two cores: LightGBM's OpenMP threads wait passively and take one
# thread each (a test that wants more threads says so), so no worker spins on a core another needs.
pytest: $(STAMP)
	$(BIN)/python -m compileall -q app tests migrations
	$(BIN)/pytest --collect-only -q >$(VENV)/collected.txt || { cat $(VENV)/collected.txt; exit 1; }
	OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE $(BIN)/pytest -n 3 --dist loadfile --no-loadscope-reorder

unit: $(STAMP)
	$(BIN)/python -m compileall -q app tests
	$(BIN)/pytest -n 2 tests/unit

# The shipped champions retrained from their recorded specs (200,000-client books), bit for bit.
reproduce: $(STAMP)
	$(BIN)/pytest -m slow

# docs/desk.png, docs/desk-en.png and docs/book.png from a live demo, in Debian's Chromium.
screenshots: $(STAMP)
	$(BIN)/python -m tests.e2e.desk_screenshots docs

# HTTP against MLServer and bare FastAPI (installs wrk and MLServer's venv when missing),
# then the in-process figures.
bench: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m bench.http_bench

# The desk's card against the by-id classification in interleaved rounds, alone, and in Chromium.
bench-desk: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m bench.desk_bench

bench-import: $(STAMP)
	$(BIN)/python -m bench.import_bench

bench-classify: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m bench.classify_inprocess

# A book run embedded and on a two-worker LocalCluster against the models' own predict.
bench-book: $(STAMP)
	$(BIN)/python -m bench.book_bench $(BOOK_BENCH_ARGS)

# 10 minutes of mixed traffic at 80% of its peak against 2 workers on Postgres (bench/loadgen.py,
# open loop); SOAK_ARGS='--fraction 2 --seconds 120' sends twice the peak and reports the shed
# and the p99 of the requests served.
soak: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m bench.soak $(SOAK_ARGS)

# Next best action in a simulated world: learning against the oracle, uplift intervals.
bench-strategy: $(STAMP)
	$(BIN)/python -m bench.strategy_sim

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
