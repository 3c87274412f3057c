# robbench set-up, build, run and test. `make run` and `make test` work on a fresh machine:
# they install libtorch (from the PyPI torch wheel) and the test venv on first use, and are
# fast when nothing changed. Heavy, reusable things live outside the clone, under
# ROBBENCH_CACHE, so fresh clones (CI) build incrementally.
SHELL := /bin/bash
ROBBENCH_CACHE ?= $(HOME)/.cache/robbench
LIBTORCH_CPU := $(ROBBENCH_CACHE)/libtorch-2.11.0-cpu
LIBTORCH_CUDA := $(ROBBENCH_CACHE)/libtorch-2.11.0-cu130
LIBDUCKDB := $(ROBBENCH_CACHE)/libduckdb-1.5.6
VENV := $(ROBBENCH_CACHE)/venv
export ROBBENCH_CACHE
export CARGO_TARGET_DIR ?= $(ROBBENCH_CACHE)/target
export LIBTORCH ?= $(LIBTORCH_CPU)
export ROBBENCH_PYTHON := $(VENV)/bin/python
# CARGO_FEATURES=bundled-duckdb compiles DuckDB from source instead of linking the prebuilt library.
CARGO_FEATURES ?=
ifeq ($(findstring bundled-duckdb,$(CARGO_FEATURES)),)
export DUCKDB_LIB_DIR := $(LIBDUCKDB)
DUCKDB_DEP := duckdb
endif
CARGO_FLAGS := $(if $(CARGO_FEATURES),--features $(CARGO_FEATURES))
BIN := target/release/robbench
BENCH_INPUTS := $(BIN) sql/bundle.sql schema/tables.sql data/nasrobbench201_page.js $(wildcard data/digits_trained/*.parquet) data/ntk_scores.parquet $(wildcard data/companion/*.csv.gz)

.PHONY: build run test test-fast lint figures bench libtorch duckdb venv wheel python build-gpu clean-bench

build: libtorch $(DUCKDB_DEP)
	cargo build --release --workspace --bins $(CARGO_FLAGS)
	@mkdir -p target/release
	@cp -fp $(CARGO_TARGET_DIR)/release/robbench $(BIN)
	@cp -fp $(CARGO_TARGET_DIR)/release/robbench-worker target/release/robbench-worker
	@$(MAKE) --no-print-directory bench/robbench.json

run: build
	$(BIN)

# Every test: the fast tier and the full one (#[ignore = "full tier ..."]: the Python references,
# training, kills), against the venv's references.
test: build venv python
	cargo test --release --workspace $(CARGO_FLAGS) --no-fail-fast -- --include-ignored --test-threads=2
	$(VENV)/bin/python -m pytest -q python/tests

# The fast tier alone: no venv, no training (what plain `cargo test` runs).
test-fast: build
	cargo test --release --workspace $(CARGO_FLAGS) --no-fail-fast -- --test-threads=2

# Formatting and lints, as CI checks them.
lint: libtorch $(DUCKDB_DEP)
	cargo fmt --all --check
	cargo clippy --release --workspace --all-targets $(CARGO_FLAGS) -- -D warnings

# Every figure script of sql/figures, on the bundled benchmark: PNGs under figures/.
figures: build
	@for f in sql/figures/*.sql; do echo "$$f"; $(BIN) --read-only "$$f" || exit 1; done

bench: build venv
	cargo bench --workspace $(CARGO_FLAGS)

# The project-local libtorch is a link to the shared copy, so every clone builds against one
# path and the C++ part of tch is compiled once.
libtorch: $(LIBTORCH)/.complete
	@ln -sfn $(LIBTORCH) .libtorch

# The official DuckDB library (see scripts/install-duckdb.sh), linked instead of compiled.
duckdb: $(LIBDUCKDB)/.complete

$(LIBDUCKDB)/.complete:
	scripts/install-duckdb.sh $(LIBDUCKDB)

$(LIBTORCH_CPU)/.complete:
	scripts/install-libtorch.sh cpu $(LIBTORCH_CPU)

$(LIBTORCH_CUDA)/.complete:
	scripts/install-libtorch.sh cuda $(LIBTORCH_CUDA)

# The worker for a GPU machine: links the wheel's libtorch_cuda (its own target folder, since
# libtorch differs). robbench itself has no libtorch in it, so the CPU build serves there too:
# put target/gpu/robbench-worker next to it (or name it in ROBBENCH_WORKER) and run with
# LD_LIBRARY_PATH naming the torch install's lib folder.
build-gpu: $(LIBTORCH_CUDA)/.complete
	LIBTORCH=$(LIBTORCH_CUDA) CARGO_TARGET_DIR=$(ROBBENCH_CACHE)/target-gpu cargo build --release -p robbench-core --bins
	@mkdir -p target/gpu
	cp -f $(ROBBENCH_CACHE)/target-gpu/release/robbench-worker target/gpu/
	strip target/gpu/robbench-worker

# The wheel: dist/robbench-<version>-cp39-abi3-manylinux_<glibc>_x86_64.whl, with the shell,
# the worker (on the torch package's libtorch), libduckdb and the bundled benchmark inside
# (scripts/build-wheel.sh). `pip install dist/robbench-*.whl` installs it anywhere.
wheel: build venv
	VENV=$(VENV) CARGO_FEATURES=$(CARGO_FEATURES) scripts/build-wheel.sh

# The wheel installed into the venv PYTHON_VENV (default: the test venv, whose tests run against
# it; `make python PYTHON_VENV=~/venvs/nas` for your own, created if missing).
PYTHON_VENV ?= $(VENV)
python: wheel
	@test -x $(PYTHON_VENV)/bin/python || python3 -m venv $(PYTHON_VENV)
	$(PYTHON_VENV)/bin/pip install --quiet --disable-pip-version-check --force-reinstall --no-deps dist/robbench-*.whl
	@$(PYTHON_VENV)/bin/pip install --quiet --disable-pip-version-check dist/robbench-*.whl

# Reference implementations for the parity tests: PyTorch, torchattacks, scipy.
venv: $(VENV)/.complete
$(VENV)/.complete: tests/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@

# The bundled benchmark: the architectures table and the published NAS-RobBench-201 table,
# built by robbench's own importer into a temporary folder that replaces bench/ only when done.
bench/robbench.json: $(BENCH_INPUTS)
	@rm -rf bench.partial
	$(BIN) --bench bench.partial sql/bundle.sql
	@rm -rf bench && mv bench.partial bench

clean-bench:
	rm -rf bench bench.partial
