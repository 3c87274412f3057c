"""Reads a benchmark table folder with pyarrow alone and prints the given columns, sorted."""
import sys

import pyarrow.dataset as ds

table = ds.dataset(sys.argv[1], format="parquet").to_table()
cols = sys.argv[2].split(",")
rows = sorted(zip(*(table.column(c).to_pylist() for c in cols)))
for r in rows:
    print(",".join(str(v) for v in r))
