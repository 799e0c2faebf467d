#!/usr/bin/python3
"""docs/evaluation.md A11: one pre-registered ensemble on Groceries. The GNN and the two
baselines with the best validation MRR@20 are blended by normalised rank,
score = sum_c w_c r_c, with one weight vector chosen on validation from the simplex in
steps of 0.1; then it is scored once on test beside every baseline.

Needs build/eval/groceries.json (run_cart.py groceries --shipped models/cart-gnn: the
baselines' validation tuning and test ranks) and build/gnn/ablation/shipped/model-fit.pt
(ablate_prep.sh shipped: the shipped setting fitted on train minus validation). Writes
build/eval/groceries-ensemble.json (report.py: MODELS.md "Ensemble").

  AISLE_SHARED=../shared /usr/bin/python3 scripts/eval/run_ensemble.py
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
import methods  # noqa: E402
import metrics  # noqa: E402

STEP = 10  # weights in tenths
NAME = "ensemble: rank blend (A11)"


def norm_ranks(s):
    """Normalised ranks of a score vector: 1 = best, 0 = worst; tied scores share their average rank."""
    s = np.asarray(s, dtype=np.float64)
    _, inv, counts = np.unique(s, return_inverse=True, return_counts=True)
    avg = (np.cumsum(counts) - counts) + (counts - 1) / 2.0
    return avg[inv] / max(1, len(s) - 1)


def _simplex(k, step):
    """Every weight vector of k components in steps of 1/step summing to 1, the first weight largest first."""
    def rec(k, left):
        if k == 1:
            yield (left,)
            return
        for i in range(left, -1, -1):
            for rest in rec(k - 1, left - i):
                yield (i,) + rest
    return [tuple(x / step for x in w) for w in rec(k, step)]


class Blend:
    """recommend() of sum_c w_c r_c over the vocabulary; components are key-space
    score functions (cart keys -> scores over the vocabulary, or None)."""

    def __init__(self, vocab, components, weights, cache):
        self.vocab, self.components, self.w = vocab, components, np.asarray(weights)
        self.cache = cache  # tuple(cart) -> [k, n_items] normalised ranks, shared by every weight
        self.name, self.params = NAME, {"weights": list(weights)}

    def ranks_of(self, cart):
        t = tuple(cart)
        if t not in self.cache:
            rows = []
            for f in self.components:
                s = f(cart)
                rows.append(norm_ranks(s) if s is not None else np.zeros(len(self.vocab.keys)))
            self.cache[t] = np.stack(rows)
        return self.cache[t]

    def recommend(self, cart, n):
        if not any(k in self.vocab.index for k in cart):
            return self.vocab.popular(n)
        return self.vocab.top(self.w @ self.ranks_of(cart), n)


def baseline_fn(vocab, model):
    def f(cart):
        idx = [vocab.index[k] for k in cart if k in vocab.index]
        return model(idx) if idx else None
    return f


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval", default=os.path.join(ROOT, "build", "eval"))
    ap.add_argument("--fit", default=os.path.join(ROOT, "build", "gnn", "ablation", "shipped"))
    ap.add_argument("--shipped", default=os.path.join(ROOT, "models", "cart-gnn"))
    args = ap.parse_args()
    import gnn_method  # here, not above: they import scripts/gnn's data.py and model.py, whose names
    import protocol  # scripts/encoder shares (the unit tests import both directories)

    t0 = time.time()
    with open(os.path.join(args.eval, "groceries.json")) as f:
        base = json.load(f)
    sp = protocol.SPLITS["groceries"]()
    vc, tc = protocol.cases(sp, "val"), protocol.cases(sp, "test")
    if base["units"] != [u for u, _, _ in tc]:
        raise SystemExit("groceries.json was written for other test cases")
    rows = [m for m in base["methods"] if m["kind"] == "baseline"]
    picked = sorted(rows, key=lambda m: -m["val_MRR@20"])[:2]
    make = {name: mk for name, mk, _ in methods.grid()}
    print("components: GNN + %s" % ", ".join("%s %s (val MRR@20 %.4f)" % (
        m["method"], m["params"], m["val_MRR@20"]) for m in picked), flush=True)

    def components(vocab, sessions, gnn):
        idx = vocab.encode(sessions)
        fns = [gnn.scores]
        for m in picked:
            fns.append(baseline_fn(vocab, make[m["method"]](idx, len(vocab.keys), **m["params"])))
        return fns

    # Validation: every component fitted on train minus validation.
    tv = methods.Vocab.build(sp.train, sp.fixed_vocab)
    fit = gnn_method.trained(args.fit, args.fit, tv, "GNN (fit)", weights="model-fit.pt")
    fit.prime([inp for _, inp, _ in vc])
    comps, cache = components(tv, sp.train, fit), {}
    grid = []
    for w in _simplex(1 + len(picked), STEP):
        m = metrics.means(metrics.ranks(Blend(tv, comps, w, cache), vc, True))
        grid.append({"weights": list(w), "val_MRR@20": m["MRR@20"], "val_HR@20": m["HR@20"]})
    best = max(grid, key=lambda g: (round(g["val_MRR@20"], 12),) + tuple(g["weights"][:2]))
    alone = [g for g in grid if max(g["weights"]) == 1.0]
    print("chosen %s: val MRR@20 %.4f HR@20 %.4f; alone: %s" % (
        best["weights"], best["val_MRR@20"], best["val_HR@20"],
        ", ".join("%s %.4f" % (g["weights"], g["val_MRR@20"]) for g in alone)), flush=True)

    # Test, once: refit components, the shipped GNN.
    vocab = methods.Vocab.build(sp.train + sp.val, sp.fixed_vocab)
    ship = gnn_method.shipped(args.shipped, vocab)
    ship.prime([inp for _, inp, _ in tc])
    blend = Blend(vocab, components(vocab, sp.train + sp.val, ship), best["weights"], {})
    r = metrics.ranks(blend, tc, True)
    print("test %s" % metrics.means(r), flush=True)
    params = {"weights": best["weights"], "components": ["GNN (%s)" % os.path.relpath(args.shipped, ROOT)] +
              ["%s %s" % (m["method"], m["params"]) for m in picked]}
    res = dict(base)
    res["methods"] = [{"method": NAME, "kind": "model", "params": params, "ranks": r.tolist()}] + [
        m for m in base["methods"] if m["kind"] == "baseline"] + [
        dict(m, kind="reference") for m in base["methods"] if m["method"].startswith("SR-GNN (shipped")]
    res["validation"] = {"chosen": best, "alone": alone, "grid": grid, "val_cases": len(vc)}
    res["seconds"] = round(time.time() - t0, 1)
    path = os.path.join(args.eval, "groceries-ensemble.json")
    with open(path, "w") as f:
        json.dump(res, f)
    print("wrote %s (%.0fs)" % (path, time.time() - t0))


if __name__ == "__main__":
    main()
