"""Amendment A9 of docs/evaluation.md, run by `run_hybrid.py --a9`: A7's candidate union with the intent
list's ties broken by cosine (intent.union_candidates(..., tie=cos)), scored once on A5's test half and, in
the same run, on its validation half, beside A7's union, A6's full scan, the encoder and BM25.

  AISLE_DATA=../shared/data nice -n 5 /usr/bin/python3 scripts/eval/run_hybrid.py --a9   # -> build/eval/hybrid-a9.json

The weights are A6's chosen pair, read from build/eval/hybrid.json when it exists, else A6_CHOSEN (the same
pair, as docs/evaluation.md A7 records it); they are not re-tuned.
"""

import json
import os
import time
from collections import defaultdict

import numpy as np

import intent as IN
from bm25 import terms

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
C = 200  # A7's C, unchanged by A9
A6_CHOSEN = {"text": {"form": "soft", "wl": 3, "wi": 0.1}, "category": {"form": "hard", "wl": 0, "wi": 0.5}}
# method names in the output, as scripts/eval/report.py reads them
A9, A7, A6 = "hybrid", "hybrid, A7 union", "hybrid, full scan (A6)"


def top10(s):
    return np.argsort(-s, kind="stable")[:10]


def run(env):
    t0 = env["t0"]
    protos, components, score_all, nb = env["protos"], env["components"], env["score_all"], env["nb"]
    held, test, ctest, val, cval = env["held"], env["test"], env["ctest"], env["val"], env["cval"]
    item_aisle, item_post, names = env["item_aisle"], env["item_post"], env["names"]
    a6_path = os.path.join(ROOT, "build", "eval", "hybrid.json")
    ch = A6_CHOSEN
    if os.path.exists(a6_path):
        with open(a6_path) as f:
            ch = json.load(f)["chosen"]
    route = {r: (ch[r]["form"], ch[r]["wl"], ch[r]["wi"]) for r in ("category", "text")}
    forms = sorted({(route["category"][0], True), (route["text"][0], True)})
    labels = {"full": "full catalogue ({:,})".format(len(names)), "held": "held-out products only ({:,})".format(len(held))}
    out = {}
    for half, prod, cat in (("test", test, ctest), ("validation", val, cval)):
        out_protos = []
        for pname, qs, key in protos:
            allpos = cat if key == "uniq" else prod
            mets = ["P@10", "R@10", "MRR"] if key == "uniq" else ["R@10", "MRR"]
            res = defaultdict(lambda: defaultdict(list))
            same9, same7, size9, size7 = [], [], [], []
            for a in range(0, len(allpos), env["CHUNK"]):
                pos = allpos[a:a + env["CHUNK"]]
                sub, cos, raw, lex, its = components(qs, key, pos, only=forms)
                full = np.empty_like(cos)
                u9 = np.full_like(cos, -1e9)  # outside the union: below every member, tied among themselves
                u7 = np.full_like(cos, -1e9)
                for i, q in enumerate(sub):
                    r = "category" if nb.exact.get(" ".join(terms(q))) is not None else "text"
                    form, wl, wi = route[r]
                    full[i] = IN.hybrid(cos[i], lex[i], its[(form, True)][i], wl, wi)
                    p = nb.query_posterior(q, True)
                    for u, tie, same, size in ((u9, cos[i], same9, size9), (u7, None, same7, size7)):
                        cand = IN.union_candidates(cos[i], raw[i], p, form, item_aisle, item_post, C, tie=tie)
                        u[i, cand] = full[i, cand]
                        size.append(len(cand))
                        same.append(bool(np.array_equal(top10(full[i]), top10(u[i]))))
                for m, s in ((A9, u9), (A7, u7), (A6, full), ("encoder", cos), ("BM25", raw)):
                    for k, v in score_all(s, pname, pos).items():
                        res[m][k].append(v)
                del cos, raw, lex, its, full, u9, u7
            for cs in ("full", "held"):
                out_protos.append({
                    "name": pname, "candidates": labels[cs], "n": len(allpos), "metrics": mets,
                    "methods": [{"method": m, "per_query": {k: np.concatenate(res[m][(cs, k)]).tolist() for k in mets}}
                                for m in (A9, A7, A6, "encoder", "BM25")],
                    "top10_equal": float(np.mean(same9)), "top10_equal_a7": float(np.mean(same7)),
                    "union_size": float(np.mean(size9)), "union_size_a7": float(np.mean(size7))})
            print("A9 %s %s done (%.0fs): top-10 equal A9 %.4f, A7 %.4f; mean union %.0f / %.0f" % (
                half, pname, time.time() - t0, np.mean(same9), np.mean(same7), np.mean(size9), np.mean(size7)),
                flush=True)
        out[half] = out_protos
    notes = ("A9: A6's routed hybrid (%s) scored on A7's union of three top-%d lists (cosine, BM25, intent over the "
             "query's aisles carrying >= %g of P(a | q)), the intent list ordered by (I, then cosine, descending; "
             "then position); items outside the union rank below it. Weights not re-tuned. Test half of A5's split "
             "(%d product queries, %d aisle queries), then its validation half (%d, %d). \"top-10 = full scan\" is the "
             "fraction of queries whose ordered top 10 (full catalogue) equals A6's full-scan top 10."
             % ("; ".join("%s: %s, w_l %g, w_i %g" % ((r,) + route[r]) for r in ("text", "category")), C,
                IN.INTENT_MASS, len(test), len(ctest), len(val), len(cval)))
    path = os.environ.get("EVAL_HYBRID_OUT", os.path.join(ROOT, "build", "eval", "hybrid-a9.json"))
    with open(path, "w") as f:
        json.dump({"notes": notes, "C": C, "chosen": ch, "protocols": out["test"], "validation": out["validation"]}, f)
    print("wrote %s (%.0fs)" % (path, time.time() - t0))
