#!/usr/bin/env python3
"""Writes scikit-learn's wine, breast-cancer and digits data sets as CSV files for
examples/classify (docs/classify.md): a header line of feature names
(spaces and slashes as underscores) and the class last, in a column
called "target".  Usage: classify_datasets.py OUT_DIR
Needs scikit-learn (Debian: python3-sklearn); the data ship with it.
"""
import os
import sys

from sklearn.datasets import load_breast_cancer, load_digits, load_wine


def write(path, data):
    names = [n.replace(" ", "_").replace("/", "_") for n in data.feature_names] + ["target"]
    with open(path, "w") as f:
        f.write(",".join(names) + "\n")
        for row, label in zip(data.data, data.target):
            f.write(",".join(repr(float(v)) for v in row) + f",{int(label)}\n")
    print(f"wrote {path}: {len(data.target)} rows, {len(names) - 1} features, classes {sorted(set(data.target))}")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    os.makedirs(sys.argv[1], exist_ok=True)
    write(os.path.join(sys.argv[1], "wine.csv"), load_wine())
    write(os.path.join(sys.argv[1], "breast_cancer.csv"), load_breast_cancer())
    write(os.path.join(sys.argv[1], "digits.csv"), load_digits())  # 8x8 images of the digits 0-9
    return 0


if __name__ == "__main__":
    sys.exit(main())
