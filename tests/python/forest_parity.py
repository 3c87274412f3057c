"""Reference surrogate: scikit-learn's RandomForestRegressor (300 trees, its defaults) on the
features and training sets robbench used; held-out Kendall tau (scipy) per training set.

Reads features.csv (arch, the feature columns, y) and splits.csv (n, seed, arch, in_train);
prints n,seed,tau for each split.
"""
import csv
import sys

import numpy as np
from scipy import stats
from sklearn.ensemble import RandomForestRegressor

with open(sys.argv[1]) as f:
    rows = list(csv.DictReader(f))
names = [k for k in rows[0] if k not in ("arch", "y")]
index = {int(r["arch"]): i for i, r in enumerate(rows)}
x = np.array([[float(r[k]) for k in names] for r in rows])
y = np.array([float(r["y"]) for r in rows])

splits = {}
with open(sys.argv[2]) as f:
    for r in csv.DictReader(f):
        key = (int(r["n"]), int(r["seed"]))
        splits.setdefault(key, np.zeros(len(rows), dtype=bool))
        splits[key][index[int(r["arch"])]] = r["in_train"] == "true"

for (n, seed), train in sorted(splits.items()):
    assert train.sum() == n, (n, seed, train.sum())
    forest = RandomForestRegressor(n_estimators=300, random_state=seed).fit(x[train], y[train])
    tau = stats.kendalltau(forest.predict(x[~train]), y[~train]).statistic
    print(f"{n},{seed},{float(tau)!r}")
