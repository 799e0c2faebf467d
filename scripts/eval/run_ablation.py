#!/usr/bin/python3
"""Scores the Groceries training-data-preparation variants of docs/evaluation.md A10
(trained by scripts/eval/ablate_prep.sh into build/gnn/ablation/<variant>/) and writes
build/eval/groceries-ablation.json; scripts/eval/report.py turns it into MODELS.md's
"Training-data preparation" table.

Per variant, two rank arrays, both by the shared metrics.ranks:
- validation: its early-stopping model (model-fit.pt, fitted on train minus validation)
  on train.py's validation cases (A4: one item hidden per validation basket, seed 101);
- test: its refit model (model.pt, train + validation) on the test cases of 1.1, once.
The shipped models/cart-gnn is scored on the same test cases as the reference.

  AISLE_SHARED=../shared /usr/bin/python3 scripts/eval/run_ablation.py
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import gnn_method  # noqa: E402
import methods  # noqa: E402
import metrics  # noqa: E402
import protocol  # noqa: E402

VAL_SEED = 101  # train.py: seed 1 + 100 (A4)

# A10's variants in its order: name -> what differs from the shipped setting.
VARIANTS = [
    ("shipped", "none (the shipped setting, retrained)"),
    ("prefix", "prefix samples only"),
    ("holdout", "hide-last samples only"),
    ("once", "samples drawn once, reused every epoch"),
    ("file", "no shuffle: the file's (category) order"),
    ("orders1", "1 hide-last sample per basket, not 3"),
    ("pool1", "plain shuffled batches, no length pools"),
    ("nomask", "cart items not masked in the loss"),
    ("shipped-seed2", "none, seed 2 (seed noise)"),
]
# A10's supplementary second seed of every variant (reported beside, not used to decide).
VARIANTS += [(n + "-seed2", w + ", seed 2") for n, w in VARIANTS[1:-1]]


def val_cases(sp):
    """train.py's early-stopping validation cases (data.eval_cases, seed 101), as protocol cases
    (unit = the validation basket)."""
    import random

    rng = random.Random(VAL_SEED)
    out = []
    for b, s in enumerate(sp.val):
        if len(s) < 2:
            continue
        s = list(s)
        rng.shuffle(s)
        out.append((b, s[:-1][-protocol.MAX_CART_ITEMS:], s[-1]))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=os.path.join(ROOT, "build", "gnn", "ablation"))
    ap.add_argument("--shipped", default=os.path.join(ROOT, "models", "cart-gnn"))
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "eval", "groceries-ablation.json"))
    args = ap.parse_args()
    t0 = time.time()
    sp = protocol.SPLITS["groceries"]()
    vc, tc = val_cases(sp), protocol.cases(sp, "test")
    tv = methods.Vocab.build(sp.train, sp.fixed_vocab)
    vocab = methods.Vocab.build(sp.train + sp.val, sp.fixed_vocab)
    ship = gnn_method.shipped(args.shipped, vocab)
    rows = []
    for name, what in VARIANTS:
        d = os.path.join(args.dir, name)
        if not os.path.exists(os.path.join(d, "model-fit.pt")):
            rows.append({"variant": name, "changed": what, "run": False})
            print("  %-14s not run" % name, flush=True)
            continue
        with open(os.path.join(d, "results.json")) as f:
            res = json.load(f)
        fit = gnn_method.trained(d, d, tv, name, weights="model-fit.pt")
        refit = gnn_method.trained(d, d, vocab, name)
        vr = metrics.ranks(fit, vc, True)
        tr = metrics.ranks(refit, tc, True)
        p = res["results"][0]["params"]
        rows.append({"variant": name, "changed": what, "run": True, "best_epoch": res["best_epoch"],
                     "params": {k: p.get(k) for k in ("set_mode", "set_order", "holdout_orders", "batch_pool",
                                                      "no_loss_mask", "seed")},
                     "val_ranks": vr.tolist(), "test_ranks": tr.tolist()})
        print("  %-14s epoch %2d | val %s | test %s" % (name, res["best_epoch"], _short(vr), _short(tr)), flush=True)
    sr = metrics.ranks(ship, tc, True)
    out = {"dataset": "groceries", "notes": sp.notes, "val_cases": len(vc), "test_cases": len(tc),
           "val_units": [u for u, _, _ in vc], "units": [u for u, _, _ in tc],
           "shipped": {"model": os.path.relpath(args.shipped, ROOT), "test_ranks": sr.tolist()},
           "variants": rows, "seconds": round(time.time() - t0, 1)}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f)
    print("  shipped cart-gnn test %s\nwrote %s" % (_short(sr), args.out))


def _short(r):
    m = metrics.means(r)
    return "HR@20 %.4f MRR@20 %.4f" % (m["HR@20"], m["MRR@20"])


if __name__ == "__main__":
    main()
