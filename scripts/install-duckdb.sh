#!/usr/bin/env bash
# Installs the official DuckDB 1.5.6 shared library (the DuckDB that the pinned duckdb =1.10506.1
# crate bundles, source id 069cc9f9b5) from the npm package DuckDB's own Node bindings ship it in,
# so a cold build links it instead of compiling DuckDB's C++ (about 18 minutes on 2 cores).
#
#   install-duckdb.sh DIR    DIR/libduckdb.so, checked against its sha256 and its reported version
#
# Idempotent: a finished DIR carries a .complete marker and is left alone. Machines without npm
# build with `cargo build --features bundled-duckdb` instead (see the README).
set -euo pipefail
dir=${1:?usage: install-duckdb.sh DIR}
PACKAGE=@duckdb/node-bindings-linux-x64@1.5.6-r.1
TGZ_SHA256=1b9f82478539bb9a1d1df44bd103121a12ae52142c07158dc52b97d2ec1d69ff
LIB_SHA256=3f4962cdd266eab2b479a5b5a4a6d063d279b2954ae814ed00385d553b747633
VERSION=v1.5.6

[ -f "$dir/.complete" ] && exit 0
command -v npm >/dev/null || {
    echo "install-duckdb.sh: npm is not installed; install it (apt-get install npm) or build DuckDB from source with 'make build CARGO_FEATURES=bundled-duckdb'" >&2
    exit 1
}
tmp="$dir.partial"
rm -rf "$tmp"
mkdir -p "$tmp/x"
(cd "$tmp/x" && npm pack --silent "$PACKAGE" >/dev/null)
tgz=$(ls "$tmp"/x/*.tgz)
echo "$TGZ_SHA256  $tgz" | sha256sum --check --quiet - || {
    echo "install-duckdb.sh: $PACKAGE has an unexpected sha256 (expected $TGZ_SHA256)" >&2
    exit 1
}
tar -xzf "$tgz" -C "$tmp/x" package/libduckdb.so package/LICENSE
mv "$tmp/x/package/libduckdb.so" "$tmp/x/package/LICENSE" "$tmp/"
rm -rf "$tmp/x"
echo "$LIB_SHA256  $tmp/libduckdb.so" | sha256sum --check --quiet - || {
    echo "install-duckdb.sh: libduckdb.so has an unexpected sha256 (expected $LIB_SHA256)" >&2
    exit 1
}
# The library's own word on its version, read through its C API.
cat > "$tmp/version.c" <<'C'
#include <stdio.h>
const char *duckdb_library_version(void);
int main(void) { puts(duckdb_library_version()); return 0; }
C
cc -o "$tmp/version" "$tmp/version.c" -L"$tmp" -lduckdb -Wl,-rpath,"$tmp"
got=$("$tmp/version")
rm -f "$tmp/version" "$tmp/version.c"
[ "$got" = "$VERSION" ] || {
    echo "install-duckdb.sh: libduckdb.so reports $got, expected $VERSION" >&2
    exit 1
}
echo "$VERSION" > "$tmp/version"
touch "$tmp/.complete"
rm -rf "$dir"
mv "$tmp" "$dir"
echo "libduckdb $VERSION installed in $dir" >&2
