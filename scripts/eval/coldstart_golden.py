#!/usr/bin/python3
"""Writes recommend/testdata/coldstart_golden.json: the vectors and rankings
of the cold-start rule's reference implementation (coldstart.py,
docs/evaluation.md A13) on the committed default repository plus the new
catalogue items of recommend/testdata/new_items.jsonl, which the Go test
recommend.TestColdStartGolden compares the served new_items table against,
bit for bit.

Known items: the rows of models/cart-gnn/items.tsv (+ items.f32), in row
order, with their catalogue data (name, aisle, department) from
models/catalog.jsonl; a row the catalogue lacks keeps its item-table name
and no aisle or department (the Go table does the same). New items: the
catalogue's items with no row, in catalogue order, the catalogue being
models/catalog.jsonl with new_items.jsonl appended (as a retailer would).

Sessions: fixed vectors standing in for session embeddings (the rule does
not care where one comes from, and no model runs here or in the Go test):
the item vector of "whole milk", its negation and a seeded normal vector,
each ranked over every reachable new item and once more without n1. Scores
are numpy's float32 product (top_new); the script refuses fixtures whose
consecutive scores are so close (other than exact ties of equal vectors)
that another summation order could swap them.

  /usr/bin/python3 scripts/eval/coldstart_golden.py
"""

import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import coldstart as cs  # noqa: E402
from hybrid_golden import read_f32  # noqa: E402  (the item vectors' .f32 reader)

MODEL = os.path.join(ROOT, "models", "cart-gnn")
CATALOG = os.path.join(ROOT, "models", "catalog.jsonl")
NEW = os.path.join(ROOT, "recommend", "testdata", "new_items.jsonl")
OUT = os.path.join(ROOT, "recommend", "testdata", "coldstart_golden.json")
# The smallest relative gap between consecutive distinct scores kept: float32
# sums of 64 terms in another order differ by far less.
MIN_GAP = 1e-4


def read_table(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().rstrip("\n").split("\n")
    assert lines[0].split("\t")[:2] == ["id", "name"], path
    return [tuple(line.split("\t")[:2]) for line in lines[1:]]


def read_catalog(*paths):
    items = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    obj = json.loads(line)
                    if "catalog_version" not in obj:
                        items.append(obj)
    return items


def bits(v):
    return [int(x) for x in np.asarray(v, dtype=np.float32).view(np.uint32)]


def build():
    """The golden as a dict (what main writes)."""
    table = read_table(os.path.join(MODEL, "items.tsv"))
    vectors = read_f32(os.path.join(MODEL, "items.f32"))
    assert len(table) == len(vectors)
    catalog = read_catalog(CATALOG, NEW)
    by_id = {p["id"]: p for p in catalog}
    known = []
    for item_id, name in table:
        p = by_id.get(item_id)
        known.append(cs.Item(p["name"], p.get("aisle"), p.get("department")) if p else cs.Item(name, "", ""))
    rows = {item_id for item_id, _ in table}
    new = [p for p in catalog if p["id"] not in rows]
    items = [cs.Item(p["name"], p.get("aisle"), p.get("department")) for p in new]
    vecs, ok = cs.cold_vectors(vectors, known, items)

    out_items = []
    for j, p in enumerate(new):
        out_items.append({
            "id": p["id"],
            "name": p["name"],
            "reachable": bool(ok[j]),
            "members": cs.members(known, items[j]),
            "vector_bits": bits(vecs[j]) if ok[j] else None,
        })

    milk = next(r for r, (_, name) in enumerate(table) if name == "whole milk")
    rng = np.random.default_rng(14)
    sessions = [
        ("whole milk", vectors[milk]),
        ("-whole milk", -vectors[milk]),
        ("normal(seed 14)", rng.standard_normal(vectors.shape[1]).astype(np.float32)),
    ]
    out_sessions = []
    n_ok = int(ok.sum())
    for name, s in sessions:
        s = np.asarray(s, dtype=np.float32)
        scores = vecs @ s
        for exclude in ([], ["n1"]):
            ex = {j for j, p in enumerate(new) if p["id"] in exclude}
            top = cs.top_new(s, vecs, ok, n_ok, exclude=ex)
            for a, b in zip(top, top[1:]):
                if np.array_equal(vecs[a], vecs[b]):
                    continue
                gap = abs(float(scores[a]) - float(scores[b]))
                if gap <= MIN_GAP * max(abs(float(scores[a])), 1.0):
                    sys.exit(f"session {name}: {new[a]['id']} and {new[b]['id']} score within {gap}: change the fixture")
            out_sessions.append({
                "name": name,
                "vector_bits": bits(s),
                "exclude": exclude,
                "top": [new[j]["id"] for j in top],
            })

    return {
        "doc": "written by scripts/eval/coldstart_golden.py from coldstart.py (docs/evaluation.md A13); do not edit",
        "dim": int(vectors.shape[1]),
        "items": out_items,
        "sessions": out_sessions,
    }


def main():
    golden = build()
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(golden, f, indent=1, ensure_ascii=False)
        f.write("\n")
    reachable = sum(it["reachable"] for it in golden["items"])
    print(f"wrote {OUT}: {len(golden['items'])} new items ({reachable} reachable), {len(golden['sessions'])} rankings")


if __name__ == "__main__":
    main()
