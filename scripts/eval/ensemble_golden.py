#!/usr/bin/python3
"""Writes what the served A11 ensemble (cart/ensemble*.go) needs and the golden that pins it to
run_ensemble.py (docs/evaluation.md A11; MODELS.md "Groceries: one pre-registered ensemble").

  /usr/bin/python3 scripts/eval/ensemble_golden.py

  models/cart-gnn/sessions.txt   the sessions A11 fitted session kNN and co-occurrence on for
      its test score: the Groceries training and validation baskets of the shipped model's split
      (scripts/gnn/data.py load_groceries(seed=1)), one basket a line, item ids (items.tsv) space
      separated, in groceries.csv order. Groceries is GPL-3 (header lines say so); the server
      also takes its popularity tie-break from these counts, as methods.Vocab does.
  cart/testdata/ensemble_golden.json   the first GOLDEN distinct test carts of the protocol
      (protocol.cases(groceries, "test")) with run_ensemble.py's Blend top 20, cart items
      removed after ranking as metrics.ranks does: {"weights", "knn_k", "cosine", "cases":
      [{"cart": [id...], "top20": [id...], "scores": [blend score...]}]}.

It checks popular.tsv (the server's answer to a cart with no known item) is run_ensemble.py's
popularity order, and reports how much numpy's tie order matters: session kNN keeps whichever
sessions tied at the k-th neighbour's similarity np.argpartition leaves in front, which the
server replicates (cart/introselect.go); a stable rule (lowest session index first) would change
most test top 20s.

  --n N --out PATH   a larger golden elsewhere (not committed), e.g. every distinct test cart
                     into build/eval; server/TestEnsembleGolden reads it from
                     AISLE_ENSEMBLE_GOLDEN.
"""

import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import methods  # noqa: E402
import metrics  # noqa: E402
import run_ensemble  # noqa: E402

GOLDEN = 60
MODEL = os.path.join(ROOT, "models", "cart-gnn")
HEADER = """# Groceries market baskets (Hahsler, Hornik & Reutterer 2006; arules' Groceries data set,
# GPL-3: https://cran.r-project.org/package=arules), the training + validation baskets of the
# split models/cart-gnn was trained on (scripts/gnn/data.py load_groceries(seed=1)).
# One basket a line: item ids of items.tsv, space separated. Written by
# scripts/eval/ensemble_golden.py; read by the cart pipeline's ensemble (session kNN, co-occurrence).
"""


class StableKNN(methods.gb.SessionKNN):
    """session kNN keeping, among sessions tied at the k-th similarity, the lowest indexes: a stable rule, which the server does not use (it follows numpy's argpartition, cart/introselect.go)."""

    def __call__(self, cart):
        u = set(cart)
        lists = [self.inv[i] for i in u if i in self.inv]
        s = np.zeros(self.n_items)
        if not lists:
            return s
        ov = np.bincount(np.concatenate(lists), minlength=len(self.sets)).astype(np.float64)
        cand = np.nonzero(ov)[0]
        sim = ov[cand] / np.sqrt(len(u) * self.size[cand])
        order = np.lexsort((cand, -sim))[: self.k]
        for sid, w in zip(cand[order], sim[order]):
            s[self.sets[sid]] += w
        return s


def top20(blend, inp):
    cart = set(inp)
    rec = blend.recommend(inp, metrics.KMAX + len(cart))
    return [k for k in rec if k not in cart][: metrics.KMAX]


def main():
    import argparse

    import gnn_method
    import protocol

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=GOLDEN)
    ap.add_argument("--out", default=os.path.join(ROOT, "cart", "testdata", "ensemble_golden.json"))
    args = ap.parse_args()

    with open(os.path.join(ROOT, "build", "eval", "groceries-ensemble.json")) as f:
        params = json.load(f)["methods"][0]["params"]
    weights = params["weights"]
    assert params["components"][1:] == ["session kNN {'k': 200}", "item-to-item co-occurrence {'cosine': True}"], params
    sp = protocol.SPLITS["groceries"]()
    sessions = sp.train + sp.val
    with open(os.path.join(MODEL, "sessions.txt"), "w") as f:
        f.write(HEADER)
        for s in sessions:
            f.write(" ".join(str(k) for k in s) + "\n")

    vocab = methods.Vocab.build(sessions, sp.fixed_vocab)
    # A cart with no known item gets vocab.popular in run_ensemble.py; the server answers it
    # from popular.tsv, so the two orders must agree.
    with open(os.path.join(MODEL, "popular.tsv"), encoding="utf-8") as f:
        served_popular = [int(line.split("\t", 1)[0]) for line in list(f)[1:]]
    if served_popular != vocab.popular(len(vocab.keys)):
        raise SystemExit("models/cart-gnn/popular.tsv is not the sessions' popularity order")
    idx = vocab.encode(sessions)
    n = len(vocab.keys)
    ship = gnn_method.shipped(MODEL, vocab)
    tc = protocol.cases(sp, "test")
    ship.prime([inp for _, inp, _ in tc])
    gnn_fn = ship.scores
    cooc = run_ensemble.baseline_fn(vocab, methods.gb.Cooccurrence(idx, n, cosine=True))
    blend = run_ensemble.Blend(vocab, [gnn_fn, run_ensemble.baseline_fn(vocab, methods.gb.SessionKNN(idx, n, k=200)), cooc],
                               weights, {})
    stable = run_ensemble.Blend(vocab, [gnn_fn, run_ensemble.baseline_fn(vocab, StableKNN(idx, n, k=200)), cooc],
                                weights, {})

    cases, seen = [], set()
    for _, inp, _ in tc:
        if tuple(inp) in seen:
            continue
        seen.add(tuple(inp))
        top = top20(blend, inp)
        sc = blend.w @ blend.ranks_of(inp, blend.extra_keys(inp))
        cases.append({"cart": list(inp), "top20": top, "scores": [float(sc[vocab.index[k]]) for k in top]})
        if len(cases) == args.n:
            break
    with open(args.out, "w") as f:
        json.dump({"weights": weights, "knn_k": 200, "cosine": True, "cases": cases}, f, indent=0)
        f.write("\n")

    diff = sum(top20(blend, inp) != top20(stable, inp) for _, inp, _ in tc)
    r = metrics.ranks(blend, tc, True)
    rs = metrics.ranks(stable, tc, True)
    print("golden: %d carts; stable k-th tie rule changes %d of %d test top 20s" % (len(cases), diff, len(tc)))
    print("test as run_ensemble.py: %s" % metrics.means(r))
    print("test with a stable tie rule (lowest session index): %s" % metrics.means(rs))


if __name__ == "__main__":
    main()
