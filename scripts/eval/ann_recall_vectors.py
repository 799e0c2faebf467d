#!/usr/bin/python3
"""Writes the Instacart encoder's catalogue and test-query embeddings
(build/eval/hybrid-embeddings.npz, cached by run_hybrid.py) as
build/eval/ann-recall/items.f32 and queries.f32 (catalog.ReadMatrix's
format), for ann.TestRecallFile: the served HNSW cosine list's recall@200
against the exact top 200 that the hybrid evaluation takes. Queries: the 67
test aisle names and the 2,485 + 2,485 test fragment and aisle + fragment
queries of A5's split. Derived from Instacart: build/ only, never committed.

  /usr/bin/python3 scripts/eval/ann_recall_vectors.py
  AISLE_ANN_RECALL=$PWD/build/eval/ann-recall/items.f32,$PWD/build/eval/ann-recall/queries.f32 \\
      go test -count=1 -run TestRecallFile -v ./ann/
"""

import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)


def split(n, seed=20261129):  # run_hybrid.split (A5), without its torch import
    import random
    pos = list(range(n))
    random.Random(seed).shuffle(pos)
    return sorted(pos[: n // 2]), sorted(pos[n // 2:])


def write(path, m):
    m = np.ascontiguousarray(m, dtype="<f4")
    with open(path, "wb") as f:
        f.write(b"AISLEEMB" + struct.pack("<II", m.shape[0], m.shape[1]) + m.tobytes())


def main():
    z = np.load(os.path.join(ROOT, "build", "eval", "hybrid-embeddings.npz"))
    _, test = split(len(z["frag3"]))
    _, ctest = split(len(z["uniq"]))
    out = os.path.join(ROOT, "build", "eval", "ann-recall")
    os.makedirs(out, exist_ok=True)
    write(os.path.join(out, "items.f32"), z["cat"])
    write(os.path.join(out, "queries.f32"), np.concatenate([z["uniq"][ctest], z["frag3"][test], z["q4"][test]]))
    print("wrote %s: %d items, %d queries" % (out, len(z["cat"]), len(ctest) + 2 * len(test)))


if __name__ == "__main__":
    main()
