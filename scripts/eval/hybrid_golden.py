#!/usr/bin/python3
"""Writes recommend/testdata/hybrid_golden.json: the hybrid search ranking of
scripts/eval/intent.py on the committed Groceries model repository, which the
Go test recommend.TestHybridGolden compares the served ranking against.

Catalogue: models/catalog.jsonl (names and aisles: BM25 and the naive-Bayes
classifier are fitted on it, as aisle serve fits them at catalogue load).
Items: models/query-encoder/items.tsv + items.f32 (the encoder's item table).
Queries: the texts of models/query-encoder/golden_embeddings.jsonl with their
committed embeddings, so no model runs here or in the Go test, plus the first
aisle names (category queries, routed) with item vectors standing in for their
embeddings (the formula does not care where a vector comes from).
Each setting is ranked on A7's candidate union (intent.union_candidates) at
each C of CS: the cosine list over the item table (float32, as the Go flat
index), the BM25 and intent lists over the catalogue's names, mapped to the
item table (names it lacks are dropped). The intent list breaks its ties by
the blend's cosine (A9), summed in float64 in dimension order as the Go code
does (a name without an item row: -inf).

  /usr/bin/python3 scripts/eval/hybrid_golden.py
"""

import json
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "encoder"))
import intent as IN  # noqa: E402
from bm25 import BM25, terms  # noqa: E402

TOP = 20
# A7's C per candidate list: the served default (C exceeds this catalogue's 169 items, so the union is all of it for
# the cosine list) and a small C whose union is a real subset.
CS = [200, 5]
# route -> (intent form, lexical weight, intent weight): the defaults chosen on validation (A6, MODELS.md), then
# settings that exercise each term and form on each route.
SETTINGS = [
    {"text": ("soft", 3, 0.1), "category": ("hard", 0, 0.5)},
    {"text": ("soft", 0, 1), "category": ("soft", 1.5, 1)},
    {"text": ("hard", 2, 0), "category": ("hard", 0, 5)},
]


def read_f32(path):
    with open(path, "rb") as f:
        raw = f.read()
    assert raw[:8] == b"AISLEEMB", path
    rows, dim = struct.unpack("<II", raw[8:16])
    return np.frombuffer(raw[16:], dtype="<f4").reshape(rows, dim)


def sum_f32(row, q):
    """The Go flat index's score: a float32 dot product accumulated in order."""
    acc = np.float32(0)
    for x, y in zip(row, q):
        acc = np.float32(acc + x * y)
    return acc


def main():
    models = os.path.join(ROOT, "models")
    cat = [json.loads(line) for line in open(os.path.join(models, "catalog.jsonl"), encoding="utf-8")]
    cat = [c for c in cat if "id" in c]  # the first line is the header
    ids = [c["id"] for c in cat]
    names = [c["name"] for c in cat]
    aisles = [c.get("aisle", "") for c in cat]
    doc = {i: d for d, i in enumerate(ids)}
    table = [line.rstrip("\n").split("\t") for line in open(os.path.join(models, "query-encoder", "items.tsv"),
                                                           encoding="utf-8")][1:]
    item_ids = [r[0] for r in table]
    vec = read_f32(os.path.join(models, "query-encoder", "items.f32")).astype(np.float64)
    assert vec.shape[0] == len(item_ids)
    row_of = {i: r for r, i in enumerate(item_ids)}
    vec32 = read_f32(os.path.join(models, "query-encoder", "items.f32"))
    bm = BM25(names)
    nb = IN.NaiveBayesAisle([n for n, a in zip(names, aisles) if a], [a for a in aisles if a])
    pred = nb.predict(names)
    post = np.exp(nb.logpost(names))
    queries = []
    for line in open(os.path.join(models, "query-encoder", "golden_embeddings.jsonl"), encoding="utf-8"):
        g = json.loads(line)
        if g["text"].strip():
            queries.append((g["text"], g["embedding"]))
    for r, a in enumerate(nb.aisles[:8]):
        queries.append((a.upper(), [float(x) for x in vec[r * 7].astype(np.float32)]))
    cases = []
    for text, emb in queries:
        q = np.asarray(emb, dtype=np.float32).astype(np.float64)
        cos = vec @ q
        seq = np.cumsum(vec * q, axis=1)[:, -1]  # Go's dot: exact products, summed in order
        tie = np.array([seq[row_of[i]] if i in row_of else -np.inf for i in ids])
        raw = bm.scores(text)
        best = float(raw.max()) if len(raw) else 0.0
        p = nb.query_posterior(text, True)
        route = "category" if nb.exact.get(" ".join(terms(text))) is not None else "text"
        runs = []
        for setting, c in ((st, c) for c in CS for st in SETTINGS):
            form, wl, wi = setting[route]
            lex = np.zeros(len(item_ids))
            it = np.zeros(len(item_ids))
            for r, i in enumerate(item_ids):
                d = doc.get(i)
                if d is None:
                    continue
                lex[r] = raw[d] / best if best > 0 else 0.0
                if p is not None:
                    it[r] = p[pred[d]] if form == "hard" else post[d] @ p
            s = IN.hybrid(cos, lex, it, wl, wi)
            # the union: cosine top c over the item rows (float32 scores, as the Go flat index), BM25 and intent top
            # c over the names (docs), then mapped to item rows
            q32 = np.asarray(emb, dtype=np.float32)
            cos32 = np.array([np.float32(sum_f32(vec32[r], q32)) for r in range(len(item_ids))], dtype=np.float64)
            cand = set(IN.top_c(cos32, c).tolist())
            docs = IN.union_candidates(np.full(len(names), -np.inf), raw, p, form, pred, post, c, soft_loop=True,
                                       with_cos=False, tie=tie)
            cand |= {row_of[ids[d]] for d in docs if ids[d] in row_of}
            u = np.array(sorted(cand), dtype=np.int64)
            su = s[u]
            order = u[np.argsort(-su, kind="stable")][:TOP]
            runs.append({"hybrid": {k: {"intent_form": f, "lexical": l, "intent": w} for k, (f, l, w) in setting.items()},
                         "route": route, "c": c, "top": [{"id": item_ids[r], "score": float(s[r])} for r in order]})
        cases.append({"query": text, "embedding": emb, "runs": runs})
    out = os.path.join(ROOT, "recommend", "testdata", "hybrid_golden.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"doc": "generated by scripts/eval/hybrid_golden.py from models/ (Groceries, GPL-3); do not edit",
                   "cases": cases}, f, indent=None, separators=(",", ":"))
        f.write("\n")
    print("wrote %s: %d cases" % (out, len(cases)))


if __name__ == "__main__":
    main()
