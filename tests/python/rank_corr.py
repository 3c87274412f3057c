"""Reference rank correlations: scipy.stats.spearmanr and kendalltau (tau-b) per group.

Reads a CSV with columns g, x, y (empty = missing, dropped pairwise) and prints g,rho,tau.
"""
import csv
import sys

from scipy import stats

groups = {}
with open(sys.argv[1]) as f:
    for row in csv.DictReader(f):
        if row["x"] == "" or row["y"] == "":
            continue
        groups.setdefault(row["g"], ([], []))
        groups[row["g"]][0].append(float(row["x"]))
        groups[row["g"]][1].append(float(row["y"]))
for g in sorted(groups):
    x, y = groups[g]
    rho = stats.spearmanr(x, y).statistic
    tau = stats.kendalltau(x, y).statistic
    print(f"{g},{float(rho)!r},{float(tau)!r}")
