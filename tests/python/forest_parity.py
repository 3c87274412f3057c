"""Reference surrogates: scikit-learn's models as robbench's `model :=` names them (300 trees):
RandomForestRegressor() ('forest'), ExtraTreesRegressor(max_features=0.5) ('extra_trees'), and
Ridge(alpha=1) with a RandomForestRegressor() on its residuals ('ridge_forest'), on the features
and training sets robbench used; held-out Kendall tau (scipy) per training set.

Reads features.csv (arch, the feature columns, y) and splits.csv (n, seed, arch, in_train) and
takes the model's name; prints n,seed,tau for each split.
"""
import csv
import sys

import numpy as np
from scipy import stats
from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor
from sklearn.linear_model import Ridge

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

model = sys.argv[3]


def fit_predict(seed, xt, yt, xs):
    if model == "forest":
        return RandomForestRegressor(n_estimators=300, random_state=seed).fit(xt, yt).predict(xs)
    if model == "extra_trees":
        et = ExtraTreesRegressor(n_estimators=300, max_features=0.5, random_state=seed)
        return et.fit(xt, yt).predict(xs)
    assert model == "ridge_forest", model
    ridge = Ridge(alpha=1.0).fit(xt, yt)
    forest = RandomForestRegressor(n_estimators=300, random_state=seed)
    forest.fit(xt, yt - ridge.predict(xt))
    return ridge.predict(xs) + forest.predict(xs)


for (n, seed), train in sorted(splits.items()):
    assert train.sum() == n, (n, seed, train.sum())
    predicted = fit_predict(seed, x[train], y[train], x[~train])
    tau = stats.kendalltau(predicted, y[~train]).statistic
    print(f"{n},{seed},{float(tau)!r}")
