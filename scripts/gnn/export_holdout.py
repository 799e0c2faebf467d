"""Writes the Groceries hold-out used by the Go quality test.

testdata/groceries/holdout.json: the line numbers (0-based) of groceries.csv
in the test split and the test cases exactly as scripts/gnn/train.py
evaluates them (seed 1: split as data.load_groceries(1), cases as
data.eval_cases(test, is_set=True, seed=201)): input cart ids in the order
shown to the model, and the hidden target id. Ids are the 0..168 Groceries
ids (names sorted in byte order).

Run: /usr/bin/python3 scripts/gnn/export_holdout.py
"""
import json
import os
import random
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import data  # noqa: E402

SEED = 1
OUT = os.path.join(HERE, "..", "..", "testdata", "groceries")


def main():
    ds = data.load_groceries(SEED)
    n = sum(1 for _ in open(os.path.join(data.DATA, "groceries", "groceries.csv"), encoding="utf-8"))
    order = list(range(n))
    random.Random(SEED).shuffle(order)
    test_lines = sorted(order[: n // 5])
    cases = data.eval_cases(ds.test, ds.is_set, SEED + 200)
    os.makedirs(OUT, exist_ok=True)
    shutil.copy(os.path.join(data.DATA, "groceries", "groceries.csv"), os.path.join(OUT, "groceries.csv"))
    with open(os.path.join(OUT, "holdout.json"), "w") as f:
        json.dump({"seed": SEED, "test_lines": test_lines,
                   "cases": [{"cart": c, "target": t} for c, t in cases]}, f, separators=(",", ":"))
    print("wrote", OUT, len(test_lines), "test baskets,", len(cases), "cases")


if __name__ == "__main__":
    main()
