#!/usr/bin/python3
"""Writes the goldens that pin graphnn/ (Go) to the Python training code.

  /usr/bin/python3 scripts/gnn/golden.py

  graphnn/testdata/graph_golden.jsonl   500 real Groceries baskets (fixed seeded sample,
      items in groceries.csv order, ids = byte-sorted name index), each alone, then
      multi-cart padded batches and a few synthetic edge cases; one JSON object a line:
      {"name", "carts": [[id...]...], "items", "A", "alias", "mask"} with nested arrays of
      the shapes in docs/models-gnn.md (A values are float32, printed exactly).
  graphnn/testdata/session_golden.jsonl 50 Groceries test carts scored by the default
      model (models/cart-gnn, torch weights from build/gnn/groceries/model.pt), each alone:
      {"cart", "n_items", "session": [d], "top10": [[index, score]...]} (raw scores, no cart exclusion).
  build/gnn/<dataset>/graph_golden.jsonl and session_golden.jsonl (git-ignored): the same
      checks on Instacart and Diginetica sessions and models when build/gnn/<dataset>/items.tsv
      exists; never committed (their
      terms do not allow redistribution / are unknown).

Every tensor is checked against naive_build (an independent restatement) before writing.
"""

import json
import os
import random
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
from graph import build_batch, naive_build  # noqa: E402
from model import SRGNN  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TESTDATA = os.path.join(ROOT, "graphnn", "testdata")


def record(name, carts):
    t = build_batch(carts)
    for x, y in zip(t, naive_build(carts)):
        assert x.dtype == y.dtype and np.array_equal(x, y), name
    items, A, alias, mask = t
    return {"name": name, "carts": carts, "items": items.tolist(),
            "A": [[[float(v) for v in row] for row in m] for m in A],
            "alias": alias.tolist(), "mask": mask.tolist()}


def write_jsonl(path, recs):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        for r in recs:
            f.write(json.dumps(r, separators=(",", ":")) + "\n")
    print("wrote %s (%d records, %d bytes)" % (path, len(recs), os.path.getsize(path)))


def graph_records(sessions, tag, n_single, seed):
    rng = random.Random(seed)
    picked = [sessions[i] for i in rng.sample(range(len(sessions)), n_single)]
    recs = [record("%s-%03d" % (tag, k), [c]) for k, c in enumerate(picked)]
    pos = 0
    for k, size in enumerate([2, 2, 3, 4, 5, 8, 8, 16, 16, 32]):
        recs.append(record("%s-batch-%02d" % (tag, k), picked[pos : pos + size]))
        pos += size
    return recs


def synthetic():
    cases = {
        "single-item": [[0]],
        "last-id": [[168]],
        "repeat-item": [[5, 5, 5]],
        "revisit": [[3, 1, 3, 2]],
        "self-loop-and-cycle": [[7, 7, 8, 7, 8, 9, 7]],
        "duplicate-transitions": [[1, 2, 1, 2, 1, 2]],
        "batch-single-items": [[4], [2], [9]],
        "batch-equal-length": [[1, 2, 3], [3, 2, 1]],
        "batch-mixed": [[3, 1, 3, 2], [5], [6, 6], [9, 8, 7, 6, 5, 4]],
        "batch-long-with-padding-node-max": [[1, 2], [10, 11, 12, 13, 14, 15, 16]],
        "batch-dups-vs-unique": [[1, 1, 1, 1, 1, 1], [2, 3]],
    }
    return [record("synthetic-" + k, v) for k, v in cases.items()]


def read_f32(path):
    with open(path, "rb") as f:
        head = f.read(16)
        assert head[:8] == b"AISLEEMB"
        n, d = struct.unpack("<II", head[8:])
        return np.frombuffer(f.read(), dtype="<f4").reshape(n, d)


def load_model(name):
    """The torch model saved by train.py for a dataset (build/gnn/<name>/model.pt)."""
    work = os.path.join(ROOT, "build", "gnn", name)
    res = json.load(open(os.path.join(work, "results.json")))
    p = res["results"][0]["params"]
    sd = torch.load(os.path.join(work, "model.pt"))
    groups = [sd[k].tolist() for k in sorted(k for k in sd if k.startswith("group_of_"))]
    model = SRGNN(res["n_items"], d=p["dim"], step=p["step"], norm_scale=p.get("norm_scale", 0.0),
                  groups=groups or None, repeat=p.get("repeat", False))
    model.load_state_dict(sd)
    model.eval()
    return model


def session_records(name, model_dir, carts):
    """torch outputs of each cart alone; checks the weights are those exported."""
    model = load_model(name)
    shipped = read_f32(os.path.join(model_dir, "items.f32"))
    assert np.array_equal(shipped, model.item_embeddings().detach().numpy()), \
        "build/gnn/%s/model.pt is not the model in %s" % (name, model_dir)
    recs = []
    with torch.no_grad():
        for c in carts:
            s, sc = model(*(torch.from_numpy(x) for x in build_batch([c])))
            top = torch.topk(sc[0], 10)
            recs.append({"cart": c, "n_items": model.n_items, "session": [float(v) for v in s[0]],
                         "top10": [[int(i), float(v)] for v, i in zip(top.values, top.indices)]})
    return recs


def groceries_session_carts(ds, n=50, seed=11):
    rng = random.Random(seed)
    carts = [list(c) for c in rng.sample([c for c in ds.test if len(c) >= 2], n)]
    for c in carts[:25]:
        rng.shuffle(c)  # half in a random order, as the model sees carts at training
    return carts


def main():
    torch.set_num_threads(1)
    ds = data.load_groceries()
    path = os.path.join(data.DATA, "groceries", "groceries.csv")
    names = data.groceries_names(path)
    ids = {nm: i for i, nm in enumerate(names)}
    baskets = [[ids[x] for x in line.rstrip("\n").split(",")] for line in open(path, encoding="utf-8")]
    write_jsonl(os.path.join(TESTDATA, "graph_golden.jsonl"),
                graph_records(baskets, "groceries", 500, seed=7) + synthetic())
    write_jsonl(os.path.join(TESTDATA, "session_golden.jsonl"),
                session_records("groceries", os.path.join(ROOT, "models", "cart-gnn"), groceries_session_carts(ds)))
    for name in ("instacart", "diginetica"):
        items = os.path.join(ROOT, "build", "gnn", name, "items.tsv")
        if not os.path.exists(items):
            print("skip %s: %s missing (run train.py first)" % (name, items))
            continue
        keys = [int(l.split("\t")[0]) for l in open(items, encoding="utf-8").readlines()[1:]]
        index = {k: i for i, k in enumerate(keys)}
        d = data.LOADERS[name]()
        sess = [[index[k] for k in s if k in index][-data.MAX_CART_ITEMS:] for s in d.train + d.val + d.test]
        sess = [s for s in sess if s]
        write_jsonl(os.path.join(ROOT, "build", "gnn", name, "graph_golden.jsonl"),
                    graph_records(sess, name, 300, seed=7))
        test = [[index[k] for k in s if k in index][-data.MAX_CART_ITEMS:] for s in d.test]
        test = [s for s in test if len(s) >= 2]
        write_jsonl(os.path.join(ROOT, "build", "gnn", name, "session_golden.jsonl"),
                    session_records(name, os.path.join(ROOT, "build", "gnn", name), random.Random(11).sample(test, 50)))


if __name__ == "__main__":
    main()
