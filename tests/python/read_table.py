"""Reads a benchmark table (a Delta Lake table) with the deltalake package and with polars,
checks they agree, and prints the given columns of its rows, sorted.

    read_table.py TABLE_DIR COLUMNS [VERSION]
"""
import sys

import polars as pl
from deltalake import DeltaTable

folder, cols = sys.argv[1], sys.argv[2].split(",")
version = int(sys.argv[3]) if len(sys.argv) > 3 else None
table = DeltaTable(folder, version=version).to_pyarrow_table()
rows = sorted(zip(*(table.column(c).to_pylist() for c in cols)), key=repr)
frame = pl.read_delta(folder, version=version).select(cols)
assert sorted(frame.rows(), key=repr) == rows, "polars and deltalake read different rows"
for r in rows:
    print(",".join("" if v is None else str(v) for v in r))
