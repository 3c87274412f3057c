"""Reads a benchmark table folder with pyarrow alone and prints the given columns, sorted.

A table is the parts of its highest generation (g<generation>-<unique>.parquet): a rewrite
writes a new generation, and the superseded parts linger a few minutes for readers that were
reading them."""
import os
import sys

import pyarrow.dataset as ds

folder = sys.argv[1]
parts = [f for f in os.listdir(folder) if f.startswith("g") and f.endswith(".parquet")]
newest = max(int(f[1:].split("-")[0]) for f in parts)
files = [os.path.join(folder, f) for f in parts if int(f[1:].split("-")[0]) == newest]
table = ds.dataset(files, format="parquet").to_table()
cols = sys.argv[2].split(",")
rows = sorted(zip(*(table.column(c).to_pylist() for c in cols)))
for r in rows:
    print(",".join(str(v) for v in r))
