#!/usr/bin/python3
"""docs/evaluation.md A11 / A12 / A13: one pre-registered ensemble per dataset. The GNN and the
two baselines with the best validation MRR@20 are blended by normalised rank,
score = sum_c w_c r_c, with one weight vector chosen on validation from the simplex in
steps of 0.1; then it is scored once on test beside every baseline.

Groceries (A11) needs build/eval/groceries.json (run_cart.py groceries --shipped
models/cart-gnn: the baselines' validation tuning and test ranks) and
build/gnn/ablation/shipped/model-fit.pt (ablate_prep.sh shipped: the shipped setting fitted
on train minus validation). Instacart and Diginetica (A12) need build/eval/<dataset>.json
(run_cart.py <dataset>) and build/gnn/protocol/<dataset>/ (train_gnns.sh <dataset>:
model-fit.pt for validation, model.pt for test). Writes build/eval/<dataset>-ensemble.json
(report.py: MODELS.md "Ensemble"). `diginetica --a13` is A13's one change to A12 (a cart with
no item known to the vocabulary gets the repeat rule's ranking, not popularity), weights
re-chosen on validation: build/eval/diginetica-ensemble-a13.json.

  AISLE_SHARED=../shared /usr/bin/python3 scripts/eval/run_ensemble.py [instacart|diginetica [--a13]]
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
NAME = "ensemble: rank blend (%s)"
AMENDMENT = {"groceries": "A11", "instacart": "A12", "diginetica": "A12"}
# A13: on Diginetica (the cart kept in the ranking) a cart with no known item gets the repeat
# rule's ranking instead of popularity; weights re-chosen on validation, output <dataset>-ensemble-a13.json
A13 = ("diginetica",)


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
    score functions (cart keys -> scores over the vocabulary, or None). With extras (A12,
    a dataset that keeps the cart) the candidates also hold the cart's items that are not
    in the vocabulary: a component's extra(cart, keys) scores them, or they get its lowest
    score; final ties: popularity, vocabulary order, then the extras in cart order."""

    def __init__(self, vocab, components, weights, cache, name=NAME % "A11", extras=False, fallback=None):
        self.vocab, self.components, self.w = vocab, components, np.asarray(weights)
        self.cache = cache  # tuple(cart) -> [k, n_candidates] normalised ranks, shared by every weight
        self.name, self.params, self.extras = name, {"weights": list(weights)}, extras
        # recommend() of a cart with no item known to the vocabulary: popularity (A11, A12), or
        # the repeat rule's ranking on Diginetica under A13
        self.fallback = fallback

    def extra_keys(self, cart):
        if not self.extras:
            return []
        return [k for k in dict.fromkeys(cart) if k not in self.vocab.index]

    def ranks_of(self, cart, extra):
        t = tuple(cart)
        if t not in self.cache:
            n, rows = len(self.vocab.keys) + len(extra), []
            for f in self.components:
                s = f(cart)
                if s is None:
                    rows.append(np.zeros(n))
                    continue
                if extra:
                    e = f.extra(cart, extra) if hasattr(f, "extra") else np.full(len(extra), -np.inf)
                    s = np.concatenate([np.asarray(s, dtype=np.float64), e])
                rows.append(norm_ranks(s))
            self.cache[t] = np.stack(rows)
        return self.cache[t]

    def recommend(self, cart, n):
        if not any(k in self.vocab.index for k in cart):
            return self.fallback.recommend(cart, n) if self.fallback else self.vocab.popular(n)
        extra = self.extra_keys(cart)
        s = self.w @ self.ranks_of(cart, extra)
        if not extra:
            return self.vocab.top(s, n)
        pop = np.concatenate([self.vocab.pop, np.zeros(len(extra))])
        order = np.lexsort((np.arange(len(s)), -pop, -s))
        keys = self.vocab.keys + extra
        return [keys[i] for i in order[:n]]


def baseline_fn(vocab, model):
    def f(cart):
        idx = [vocab.index[k] for k in cart if k in vocab.index]
        return model(idx) if idx else None
    return f


class RepeatScores:
    """The repeat rule (methods.RepeatRule) as scores: the cart's items most recent first,
    above every other item, then training popularity."""

    def __init__(self, vocab):
        self.vocab = vocab
        self.base = np.empty(len(vocab.keys))
        self.base[vocab.tie] = -np.arange(len(vocab.keys), dtype=np.float64)  # popularity order

    def _recency(self, cart):
        return {k: len(self.vocab.keys) + i for i, k in enumerate(cart)}  # later wins: most recent

    def __call__(self, cart):
        s = self.base.copy()
        for k, v in self._recency(cart).items():
            if k in self.vocab.index:
                s[self.vocab.index[k]] = v
        return s

    def extra(self, cart, keys):
        rec = self._recency(cart)
        return np.array([rec[k] for k in keys], dtype=np.float64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset", nargs="?", default="groceries", choices=sorted(AMENDMENT))
    ap.add_argument("--eval", default=os.path.join(ROOT, "build", "eval"))
    ap.add_argument("--fit", help="train.py output whose model-fit.pt scores validation (default: "
                    "build/gnn/ablation/shipped for Groceries, else build/gnn/protocol/<dataset>)")
    ap.add_argument("--shipped", default=os.path.join(ROOT, "models", "cart-gnn"),
                    help="Groceries: the committed GNN scored on test")
    ap.add_argument("--a13", action="store_true",
                    help="Diginetica only: A13's fallback (the repeat rule for carts with no known item)")
    args = ap.parse_args()
    if args.a13 and args.dataset not in A13:
        ap.error("--a13 changes only %s (the datasets that keep the cart in the ranking)" % ", ".join(A13))
    import gnn_method  # here, not above: they import scripts/gnn's data.py and model.py, whose names
    import protocol  # scripts/encoder shares (the unit tests import both directories)

    t0 = time.time()
    ds, groceries = args.dataset, args.dataset == "groceries"
    name = NAME % ("A13" if args.a13 else AMENDMENT[ds])
    fitdir = args.fit or os.path.join(ROOT, "build", "gnn", "ablation" if groceries else "protocol",
                                      "shipped" if groceries else ds)
    with open(os.path.join(args.eval, ds + ".json")) as f:
        base = json.load(f)
    sp = protocol.SPLITS[ds]()
    vc, tc = protocol.cases(sp, "val"), protocol.cases(sp, "test")
    if base["units"] != [u for u, _, _ in tc] or base["test_cases"] != len(tc):
        raise SystemExit("%s.json was written for other test cases" % ds)
    rows = [m for m in base["methods"] if m["kind"] == "baseline"]
    picked = sorted(rows, key=lambda m: -m["val_MRR@20"])[:2]
    ref = [m for m in base["methods"] if m["kind"] == "model" and m["method"].startswith("SR-GNN")][:1]
    if not ref:
        raise SystemExit("%s.json has no SR-GNN row to compare with" % ds)
    make = {n: mk for n, mk, _ in methods.grid()}
    print("%s components: GNN + %s" % (ds, ", ".join("%s %s (val MRR@20 %.4f)" % (
        m["method"], m["params"], m["val_MRR@20"]) for m in picked)), flush=True)

    def components(vocab, sessions, gnn):
        idx = vocab.encode(sessions)
        fns = [gnn.scores]
        for m in picked:
            if m["method"] == "repeat rule":
                fns.append(RepeatScores(vocab))
            else:
                fns.append(baseline_fn(vocab, make[m["method"]](idx, len(vocab.keys), **m["params"])))
        return fns

    # Validation: every component fitted on train minus validation.
    groups = None if groceries else sp.groups  # the shipped Groceries setting has no side features
    tv = methods.Vocab.build(sp.train, sp.fixed_vocab)
    fit = gnn_method.trained(fitdir, fitdir, tv, "GNN (fit)", groups=groups, weights="model-fit.pt")
    fit.prime([inp for _, inp, _ in vc])
    comps, cache, extras = components(tv, sp.train, fit), {}, not sp.exclude_cart
    fallback = methods.RepeatRule(tv) if args.a13 else None
    grid = []
    for w in _simplex(1 + len(picked), STEP):
        b = Blend(tv, comps, w, cache, name, extras, fallback)
        m = metrics.means(metrics.ranks(b, vc, sp.exclude_cart))
        grid.append({"weights": list(w), "val_MRR@20": m["MRR@20"], "val_HR@20": m["HR@20"]})
    best = max(grid, key=lambda g: (round(g["val_MRR@20"], 12),) + tuple(g["weights"][:2]))
    alone = [g for g in grid if max(g["weights"]) == 1.0]
    print("chosen %s: val MRR@20 %.4f HR@20 %.4f; alone: %s" % (
        best["weights"], best["val_MRR@20"], best["val_HR@20"],
        ", ".join("%s %.4f" % (g["weights"], g["val_MRR@20"]) for g in alone)), flush=True)

    # Test, once: refit components; Groceries: the shipped GNN, else the train.py refit (model.pt).
    vocab = methods.Vocab.build(sp.train + sp.val, sp.fixed_vocab)
    if groceries:
        gnn, gname = gnn_method.shipped(args.shipped, vocab), os.path.relpath(args.shipped, ROOT)
    else:
        gnn, gname = gnn_method.trained(fitdir, fitdir, vocab, "GNN", groups=groups), os.path.relpath(fitdir, ROOT)
    gnn.prime([inp for _, inp, _ in tc])
    blend = Blend(vocab, components(vocab, sp.train + sp.val, gnn), best["weights"], {}, name, extras,
                  methods.RepeatRule(vocab) if args.a13 else None)
    r = metrics.ranks(blend, tc, sp.exclude_cart)
    print("test %s" % metrics.means(r), flush=True)
    params = {"weights": best["weights"], "components": ["GNN (%s)" % gname] +
              ["%s %s" % (m["method"], m["params"]) for m in picked]}
    res = dict(base)
    res["methods"] = [{"method": name, "kind": "model", "params": params, "ranks": r.tolist()}] + rows + [
        dict(m, kind="reference") for m in ref]
    res["validation"] = {"chosen": best, "alone": alone, "grid": grid, "val_cases": len(vc)}
    res["seconds"] = round(time.time() - t0, 1)
    path = os.path.join(args.eval, ds + ("-ensemble-a13.json" if args.a13 else "-ensemble.json"))
    with open(path, "w") as f:
        json.dump(res, f)
    print("wrote %s (%.0fs)" % (path, time.time() - t0))


if __name__ == "__main__":
    main()
