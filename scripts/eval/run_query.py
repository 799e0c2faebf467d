#!/usr/bin/python3
"""Runs the query retrieval protocol of docs/evaluation.md (section 2) on the
Instacart hold-out: the encoder (build/encoder/instacart/model.pt, written by
scripts/encoder/train_encoder.py --dataset instacart), BM25, a naive-Bayes aisle
classifier, random and the aisle oracle, each protocol ranked against the full
catalogue and against the held-out products only. Writes per-query metrics to
build/eval/queries.json for scripts/eval/report.py.

  AISLE_DATA=../shared/data /usr/bin/python3 scripts/eval/run_query.py

A variant encoder is scored alone, as its own method row, on the same queries and candidates
(amendment A8); report.py merges build/eval/queries-*.json into the query tables:

  ENCODER_PT=build/encoder/instacart-hardneg/model.pt EVAL_QUERY_OUT=build/eval/queries-hardneg.json \
    /usr/bin/python3 scripts/eval/run_query.py --encoder-only "encoder, same-aisle hard negatives"
"""

import argparse

import json
import os
import random
import sys
import time
from collections import defaultdict

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "encoder"))
import model as M  # noqa: E402
import train_encoder as TE  # noqa: E402
from bert_tokenizer import BertTokenizer, load_vocab  # noqa: E402
from bm25 import BM25  # noqa: E402
from data import QueryMaker, load_instacart, split_holdout  # noqa: E402
from evaluate import MultiTarget, _harmonic  # noqa: E402

sys.path.insert(0, HERE)
from intent import NaiveBayesAisle  # noqa: E402  (the classifier the Go package intent mirrors)

SEED = 20240601  # the encoder's hold-out seed (train_encoder.py --seed default)


def single(scores, targets, ks=(10,)):
    """Per-query exact expected R@K and MRR under random tie order (evaluate.SingleTarget)."""
    h = _harmonic(scores.shape[1] + 1)
    st = scores[np.arange(len(targets)), targets][:, None]
    g = (scores > st).sum(axis=1)
    e = (scores == st).sum(axis=1) - 1
    out = {"MRR": (h[g + 1 + e] - h[g]) / (e + 1)}
    for k in ks:
        out["R@%d" % k] = np.clip(k - g, 0, e + 1) / (e + 1)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--encoder-only", metavar="LABEL", help="score only the encoder (ENCODER_PT), named LABEL")
    args = ap.parse_args()
    only = args.encoder_only
    t0 = time.time()
    data = os.environ.get("AISLE_DATA", os.path.join(ROOT, "..", "shared", "data"))
    build = os.path.join(ROOT, "build", "encoder", "instacart")
    items, _, _ = load_instacart(os.path.join(data, "instacart"))
    names = [it["name"] for it in items]
    aisle = [dict(it["groups"])["aisle"] for it in items]
    train_idx, held = split_holdout(len(items), 0.10, SEED)
    held_arr = np.asarray(held)
    # the evaluation queries of train_encoder.evaluate, generated the same way
    rng = random.Random(SEED + 7)
    qm = QueryMaker(items, [("frag", 1.0)])
    q1 = [aisle[i] for i in held]
    frag3 = [qm.fragment(rng, i) for i in held]
    frag2 = [qm.fragment(rng, i, 2) for i in held]
    q4 = [aisle[i] + " " + f for i, f in zip(held, frag2)]

    tokens = load_vocab(os.path.join(build, "query-encoder-instacart", "vocab.txt"))
    tok = BertTokenizer(tokens)
    cfg = M.EncoderConfig(len(tokens), hidden=128, layers=2, heads=4, ffn=512, max_positions=64)
    enc = M.BertEncoder(cfg)
    pt = os.environ.get("ENCODER_PT", os.path.join(build, "model.pt"))
    enc.load_state_dict(torch.load(pt))
    cat = torch.from_numpy(TE.embed_texts(enc, tok, names, True))
    print("embedded catalogue (%.0fs)" % (time.time() - t0), flush=True)
    if not only:
        bm = BM25(names)
        nb = NaiveBayesAisle([names[i] for i in train_idx], [aisle[i] for i in train_idx])
        post = nb.logpost(names)  # [N, n_aisles]
    aisle_arr = np.asarray(aisle)

    def enc_s(qs):
        return M._mkldnn_mm_t(torch.from_numpy(TE.embed_texts(enc, tok, qs, True)), cat).numpy()

    def bm_s(qs):
        return np.stack([bm.scores(q) for q in qs])

    def nb_s(aisles):
        # an aisle with no training product is unknown to the classifier: all candidates tie
        return np.stack([post[:, nb.col[a]] if a in nb.col else np.zeros(len(names)) for a in aisles])

    def nb_bm_s(aisles, frags):
        b = bm_s(frags)
        b = b / np.maximum(b.max(axis=1, keepdims=True), 1e-12)
        return nb_s(aisles) + b

    def const(qs):
        return np.zeros((len(qs), len(names)), dtype=np.float32)

    def oracle(aisles):
        return np.stack([(aisle_arr == a).astype(np.float32) for a in aisles])

    single_protocols = [
        ("aisle → product", q1, [("encoder", lambda a, b: enc_s(q1[a:b])), ("BM25", lambda a, b: bm_s(q1[a:b])),
                                 ("naive-Bayes aisle classifier", lambda a, b: nb_s(q1[a:b])),
                                 ("random", lambda a, b: const(q1[a:b])),
                                 ("oracle (ceiling)", lambda a, b: oracle(q1[a:b]))]),
        ("fragment → product", frag3, [("encoder", lambda a, b: enc_s(frag3[a:b])),
                                       ("BM25", lambda a, b: bm_s(frag3[a:b])),
                                       ("random", lambda a, b: const(frag3[a:b]))]),
        ("aisle + fragment → product", q4, [("encoder", lambda a, b: enc_s(q4[a:b])),
                                            ("BM25", lambda a, b: bm_s(q4[a:b])),
                                            ("naive-Bayes aisle classifier + BM25(fragment)",
                                             lambda a, b: nb_bm_s(q1[a:b], frag2[a:b])),
                                            ("random", lambda a, b: const(q4[a:b]))]),
    ]
    if only:
        single_protocols = [(p, qs, [(only, fn) for m, fn in ms if m == "encoder"]) for p, qs, ms in single_protocols]
    protos = []
    full_label = "full catalogue ({:,})".format(len(names))
    held_label = "held-out products only ({:,})".format(len(held))
    pos_in_held = np.arange(len(held))
    for pname, qs, ms in single_protocols:
        acc = {"full": defaultdict(lambda: defaultdict(list)), "held": defaultdict(lambda: defaultdict(list))}
        for mname, fn in ms:
            for a in range(0, len(qs), 256):
                s = fn(a, min(a + 256, len(qs)))
                for k, v in single(s, held_arr[a:a + 256]).items():
                    acc["full"][mname][k].extend(v.tolist())
                for k, v in single(s[:, held_arr], pos_in_held[a:a + 256]).items():
                    acc["held"][mname][k].extend(v.tolist())
        for cs, label in (("full", full_label), ("held", held_label)):
            protos.append({"name": pname, "candidates": label, "n": len(qs), "metrics": ["R@10", "MRR"],
                           "methods": [{"method": m, "per_query": dict(acc[cs][m])} for m, _ in ms]})
        print("%s done (%.0fs)" % (pname, time.time() - t0), flush=True)

    # category intent: aisle name -> every candidate of that aisle
    uniq = sorted(set(aisle[i] for i in held))
    if only:
        ms = [(only, enc_s(uniq))]
    else:
        ms = [("encoder", enc_s(uniq)), ("BM25", bm_s(uniq)), ("naive-Bayes aisle classifier", nb_s(uniq)),
              ("random", const(uniq))]
    for cs, label, cand in (("held", held_label, held_arr), ("full", full_label, np.arange(len(names)))):
        rel_all = aisle_arr[cand]
        methods = []
        for mname, s in ms:
            pq = defaultdict(list)
            for qi, a in enumerate(uniq):
                mt = MultiTarget(ks=(10,))
                mt.add(s[qi][cand].astype(np.float64), rel_all == a)
                r = mt.result()
                pq["P@10"].append(r["precision@10"])
                pq["R@10"].append(r["recall@10"])
                pq["MRR"].append(r["mrr"])
            methods.append({"method": mname, "per_query": dict(pq)})
        protos.append({"name": "aisle → members (category intent)", "candidates": label, "n": len(uniq),
                       "metrics": ["P@10", "R@10", "MRR"], "methods": methods,
                       "note": "relevant = every candidate of that aisle; on the full catalogue most of them are "
                               "training products" if cs == "full" else "relevant = the held-out products of that aisle"})
    notes = ("Instacart catalogue, seeded 10%% product hold-out (random.Random(%d)): %d held-out products never "
             "trained on. Encoder: build/encoder/instacart (scripts/encoder/train.sh --instacart). Naive Bayes: "
             "fitted on the %d training products' names and aisles. R@10 and MRR are exact expectations under a "
             "random order of tied scores." % (SEED, len(held), len(train_idx)))
    out = os.environ.get("EVAL_QUERY_OUT", os.path.join(ROOT, "build", "eval", "queries.json"))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"notes": notes, "protocols": protos, "encoder_pt": os.path.relpath(pt, ROOT)}, f)
    print("wrote %s (%.0fs)" % (out, time.time() - t0))


if __name__ == "__main__":
    main()
