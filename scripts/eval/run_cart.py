#!/usr/bin/python3
"""Runs the cart / session protocol of docs/evaluation.md for one dataset:
tunes every baseline on validation, refits on train+val, scores baselines and
the given models on the test cases, and writes build/eval/<dataset>.json
(per-case ranks; scripts/eval/report.py turns them into the MODELS.md tables).

  AISLE_SHARED=../shared /usr/bin/python3 scripts/eval/run_cart.py groceries \
      --shipped models/cart-gnn
  ... run_cart.py instacart --trained "SR-GNN=build/gnn/protocol/instacart"
"""

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import gnn_method  # noqa: E402
import methods  # noqa: E402
import metrics  # noqa: E402
import protocol  # noqa: E402
import repeat_explore  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset", choices=sorted(protocol.SPLITS))
    ap.add_argument("--shipped", help="committed cart-gnn folder (ONNX weights)")
    ap.add_argument("--trained", action="append", default=[],
                    help="NAME=DIR: a scripts/gnn/train.py output (DIR holds items.tsv, model.pt, results.json)")
    ap.add_argument("--repeat-explore", action="store_true",
                    help="also tune (on validation) and score the repeat/explore mixture (repeat_explore.py)")
    ap.add_argument("--append", action="store_true",
                    help="keep the rows of the existing <out>/<dataset>.json (same cases, checked) and only "
                         "score the models given here, so a baseline or model is not re-scored on test")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "eval"))
    args = ap.parse_args()
    t0 = time.time()
    log = lambda s: print(s, flush=True)  # noqa: E731

    sp = protocol.SPLITS[args.dataset]()
    val_cases, test_cases = protocol.cases(sp, "val"), protocol.cases(sp, "test")
    full = sp.train + sp.val
    tv = methods.Vocab.build(sp.train, sp.fixed_vocab)
    vocab = methods.Vocab.build(full, sp.fixed_vocab)
    tune_idx, full_idx = tv.encode(sp.train), vocab.encode(full)
    unreachable = sum(1 for _, inp, t in test_cases
                      if t not in vocab.index and (sp.exclude_cart or t not in inp))
    repeats = sum(1 for _, inp, t in test_cases if t in inp)
    log("%s: %d val cases, %d test cases (%d units), %d unreachable, %d repeat targets" % (
        sp.name, len(val_cases), len(test_cases), len({u for u, _, _ in test_cases}), unreachable, repeats))

    rows = []
    old = None
    if args.append:
        with open(os.path.join(args.out, sp.name + ".json")) as f:
            old = json.load(f)
        if old["units"] != [u for u, _, _ in test_cases] or old["test_cases"] != len(test_cases):
            raise SystemExit("--append: %s.json was written for other test cases" % sp.name)
        rows = old["methods"]
    for name, make, grid in ([] if args.append else methods.grid()):
        grid = grid if grid is not None else methods.arules_grid(len(sp.train))
        best = None
        for p in grid:
            m = methods.Scored(name, tv, make(tune_idx, len(tv.keys), **p))
            v = metrics.means(metrics.ranks(m, val_cases, sp.exclude_cart))["MRR@20"]
            if best is None or v > best[1]:
                best = (p, v)
        p, v = best
        r = metrics.ranks(methods.Scored(name, vocab, make(full_idx, len(vocab.keys), **p)), test_cases, sp.exclude_cart)
        rows.append({"method": name, "kind": "baseline", "params": p, "val_MRR@20": v, "ranks": r.tolist()})
        log("  %-28s val MRR@20 %.4f %s | test %s" % (name, v, p, metrics.means(r)))
    if not sp.exclude_cart and not args.append:  # with exclusion the repeat rule is "most popular"
        v = metrics.means(metrics.ranks(methods.RepeatRule(tv), val_cases, False))["MRR@20"]
        r = metrics.ranks(methods.RepeatRule(vocab), test_cases, False)
        rows.append({"method": "repeat rule", "kind": "baseline", "params": {}, "val_MRR@20": v, "ranks": r.tolist()})
        log("  %-28s val MRR@20 %.4f | test %s" % ("repeat rule", v, metrics.means(r)))

    def write(rows):
        res = {"dataset": sp.name, "notes": sp.notes, "exclude_cart": sp.exclude_cart,
               "n_items": len(vocab.keys), "train_sessions": len(full), "val_cases": len(val_cases),
               "test_cases": len(test_cases), "units": [u for u, _, _ in test_cases],
               "unreachable": unreachable, "repeat_targets": repeats,
               "repeat_target_flags": [int(t in inp) for _, inp, t in test_cases],
               "seconds": round(time.time() - t0, 1), "methods": rows}
        os.makedirs(args.out, exist_ok=True)
        path = os.path.join(args.out, sp.name + ".json")
        with open(path, "w") as f:
            json.dump(res, f)
        return path

    write(rows)  # baselines first: the models below may take long on a busy machine
    models = []
    if args.shipped:
        models.append(gnn_method.shipped(os.path.join(ROOT, args.shipped), vocab))
    for spec in args.trained:
        name, d = spec.split("=", 1)
        models.append(gnn_method.trained(d, d, vocab, name, groups=sp.groups))
    if args.repeat_explore:
        rank_fn = lambda m, cs: metrics.means(metrics.ranks(m, cs, sp.exclude_cart))["MRR@20"]  # noqa: E731
        p, v = repeat_explore.tune(tv, sp.train, tune_idx, val_cases, rank_fn)
        m = repeat_explore.build(vocab, full, full_idx, p)
        m.params["val_MRR@20"] = round(v, 4)
        log("  %-28s val MRR@20 %.4f %s" % ("repeat/explore", v, p))
        models.append(m)
    for m in models:
        rows = [x for x in rows if x["method"] != m.name]
        r = metrics.ranks(m, test_cases, sp.exclude_cart)
        rows.append({"method": m.name, "kind": "model", "params": m.params, "ranks": r.tolist()})
        log("  %-28s test %s" % (m.name, metrics.means(r)))

    path = write(rows)
    log("wrote %s (%.0fs)" % (path, time.time() - t0))


if __name__ == "__main__":
    main()
