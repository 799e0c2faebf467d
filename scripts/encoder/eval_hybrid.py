"""Hybrid search (query encoder + BM25) on the query-encoder protocols of MODELS.md, without retraining.

Rebuilds the Instacart encoder from its exported ONNX weights (checked against its golden embeddings),
recreates the protocols' queries exactly as train_encoder.evaluate does (same seeds), and scores
fusion variants beside the encoder and BM25 alone. Usage (after scripts/encoder/train.sh --instacart):

    /usr/bin/python3 scripts/encoder/eval_hybrid.py [--data ../shared/data]

Writes build/encoder/instacart/hybrid.md (fixed fusions) or, with --routed, hybrid-routed.md.
"""

import argparse
import json
import os
import random
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as M  # noqa: E402
import train_encoder as T  # noqa: E402
from bert_tokenizer import BertTokenizer, load_vocab  # noqa: E402
from bm25 import BM25  # noqa: E402
from data import QueryMaker, load_instacart, split_holdout  # noqa: E402
from evaluate import MultiTarget  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_model(folder):
    m = onnx.load(os.path.join(folder, "1", "model.onnx"))
    tokens = [line.rstrip("\n") for line in open(os.path.join(folder, "vocab.txt"), encoding="utf-8")]
    cfg = M.EncoderConfig(len(tokens), hidden=128, layers=2, heads=4, ffn=512, max_positions=64)
    model = M.BertEncoder(cfg)
    sd = model.state_dict()
    inits = [(i.name, numpy_helper.to_array(i)) for i in m.graph.initializer]
    named = {n: a for n, a in inits if n in sd}
    # Linear weights are exported transposed under generated names, in graph order.
    unnamed = [a for n, a in inits if n not in sd]
    missing = [k for k in sd if k not in named]
    assert len(unnamed) == len(missing), (len(unnamed), missing)
    new = {}
    for k in named:
        new[k] = torch.from_numpy(np.array(named[k]))
    for k, a in zip(missing, unnamed):
        new[k] = torch.from_numpy(np.ascontiguousarray(a.T))
        assert new[k].shape == sd[k].shape, (k, new[k].shape, sd[k].shape)
    model.load_state_dict(new)
    model.eval()
    tok = BertTokenizer(tokens)
    err = 0.0
    for line in open(os.path.join(folder, "golden_embeddings.jsonl"), encoding="utf-8"):
        g = json.loads(line)
        e = T.embed_texts(model, tok, [g["text"]], False)[0]
        err = max(err, float(np.abs(e - np.asarray(g["embedding"], dtype=np.float32)).max()))
    print("rebuilt model: max |embedding - golden| = %.2e" % err)
    assert err < 1e-4, "weights mapped wrongly"
    return model, tok


def ranks(s):
    srt = np.sort(s, axis=1)[:, ::-1]
    return np.stack([np.searchsorted(-srt[r], -s[r], side="left") + 1 for r in range(len(s))])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(os.path.dirname(REPO), "shared", "data"))
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--routed", action="store_true", help="score the query-routed variants instead of the fixed fusions")
    args = ap.parse_args()
    torch.set_num_threads(1)
    folder = os.path.join(REPO, "build", "encoder", "instacart", "query-encoder-instacart")
    model, tok = load_model(folder)
    items, _, _ = load_instacart(os.path.join(args.data, "instacart"))
    _, held = split_holdout(len(items), 0.10, args.seed)
    names = [it["name"] for it in items]
    groups = [dict(it["groups"])["aisle"] for it in items]
    # the queries of train_encoder.evaluate, same generator and order
    rng = random.Random(args.seed + 7)
    qm = QueryMaker(items, [("frag", 1.0)])
    q1 = [groups[i] for i in held]
    q3 = [qm.fragment(rng, i) for i in held]
    q4 = [groups[i] + " " + qm.fragment(rng, i, 2) for i in held]
    cat = torch.from_numpy(T.embed_texts(model, tok, names, True))
    bm = BM25(names)

    def enc(qs):
        return M._mkldnn_mm_t(torch.from_numpy(T.embed_texts(model, tok, qs, True)), cat).numpy().astype(np.float64)

    def bm25(qs):
        return np.stack([bm.scores(q) for q in qs])

    def rrf(e, b, k=60.0, wb=1.0, depth=None):
        re, rb = cached_ranks(e), cached_ranks(b)
        ke = np.ones_like(e, dtype=bool) if depth is None else re <= depth
        kb = (b > 0) if depth is None else (b > 0) & (rb <= depth)
        return np.where(ke, 1.0 / (k + re), 0) + wb * np.where(kb, 1.0 / (k + rb), 0)

    cache = {}

    def cached_ranks(s):  # every RRF variant of a chunk ranks the same two matrices
        if id(s) not in cache:
            cache.clear() if len(cache) >= 2 else None
            cache[id(s)] = ranks(s)
        return cache[id(s)]

    def comb(e, b, w):
        # cosine plus w times BM25 scaled by the query's best BM25 score (0 when nothing matches)
        mx = b.max(axis=1, keepdims=True)
        return e + w * np.divide(b, mx, out=np.zeros_like(b), where=mx > 0)

    variants = {
        "encoder": lambda e, b: e,
        "bm25": lambda e, b: b,
        "RRF k=60": lambda e, b: rrf(e, b),
        "RRF k=60, 100+100": lambda e, b: rrf(e, b, depth=100),
        "RRF k=60, BM25 x2": lambda e, b: rrf(e, b, wb=2.0),
        "RRF k=60, BM25 x0.5": lambda e, b: rrf(e, b, wb=0.5),
    }
    for w in (0.1, 0.2, 0.3):
        variants["cos + %.2g*bm25/max" % w] = (lambda w: lambda e, b: comb(e, b, w))(w)
    if args.routed:
        # Category intent routed by the catalogue: a query that is exactly an aisle name is answered
        # by the encoder alone; any other query by a BM25-led fusion. Scored per query row.
        aisles = set(groups)
        variants = {"encoder": variants["encoder"], "bm25": variants["bm25"]}
        for w in (0.5, 1.0, 2.0):
            variants["cos + %.2g*bm25/max" % w] = (lambda w: lambda e, b: comb(e, b, w))(w)
        variants["bm25, cos breaks ties"] = lambda e, b: b + 1e-3 * e
        for w in (1.0, 2.0):
            variants["routed: aisle -> encoder, else cos + %.2g*bm25/max" % w] = (lambda w: lambda e, b: routed(e, b, w))(w)

    def routed(e, b, w):
        is_aisle = np.asarray([q in aisles for q in current_queries])[:, None]
        return np.where(is_aisle, e, comb(e, b, w))

    current_queries = []

    res = {v: {} for v in variants}
    for key, qs in (("aisle -> product", q1), ("fragment -> product", q3), ("aisle + fragment -> product", q4)):
        accs = {v: T.SingleTarget(len(names)) for v in variants}
        for a in range(0, len(qs), 256):
            e, b = enc(qs[a:a + 256]), bm25(qs[a:a + 256])
            current_queries[:] = qs[a:a + 256]
            cache.clear()
            t = np.asarray(held[a:a + 256])
            for v, fn in variants.items():
                accs[v].add(fn(e, b), t)
        for v in variants:
            r = accs[v].result()
            res[v][key] = "%.4f / %.4f" % (r["recall@10"], r["mrr"])
        print(key, "done", flush=True)
    held_arr = np.asarray(held)
    hg = np.asarray([groups[i] for i in held])
    uniq = sorted(set(hg.tolist()))
    e, b = enc(uniq), bm25(uniq)
    current_queries[:] = uniq
    cache.clear()
    for v, fn in variants.items():
        acc = MultiTarget(ks=(10, 100))
        s = fn(e, b)[:, held_arr]
        for qi, g in enumerate(uniq):
            acc.add(s[qi], hg == g)
        r = acc.result()
        res[v]["aisle -> held-out members"] = "%.3f / %.3f" % (r["precision@10"], r["mrr"])
    cols = ["aisle -> product", "aisle -> held-out members", "fragment -> product", "aisle + fragment -> product"]
    lines = ["| method | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for v in variants:
        lines.append("| %s | %s |" % (v, " | ".join(res[v][c] for c in cols)))
    md = "\n".join(lines) + "\n"
    print(md)
    out = "hybrid-routed.md" if args.routed else "hybrid.md"
    with open(os.path.join(REPO, "build", "encoder", "instacart", out), "w", encoding="utf-8") as f:
        f.write(md)


if __name__ == "__main__":
    main()
