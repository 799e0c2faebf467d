"""A repeat-aware cart model for the protocol of docs/evaluation.md: RepeatNet's
repeat/explore decomposition (Ren et al., AAAI 2019) with count-based parts
instead of neural ones, so that it fits in seconds and is chosen on validation.

  P(j | cart) = p_r * P_repeat(j | cart) + (1 - p_r) * P_explore(j | cart)

- p_r, the probability that the next item repeats one of the cart's items, is
  the smoothed fraction of (prefix -> next item) steps in the fitting sessions
  whose next item is in the prefix, per prefix length (1, 2, ..., 5+).
  `gate` in the grid either uses that estimate ("fitted") or fixes p_r.
- P_repeat puts mass on the cart's own items, the weight of each occurrence
  decaying with its distance from the end: sum_pos exp(-decay * (L - pos)).
  decay 0 counts occurrences; a large decay is "most recent first". It covers
  items never seen in training, which the SR-GNN cannot re-show (on the
  Diginetica sample 71 of the 115 repeat targets are such items).
- P_explore is a fitted scorer over the vocabulary (session kNN or sequential
  session kNN of methods.py), with the cart's items removed as in RepeatNet's
  explore mode, normalised to sum 1; popularity when the scorer has nothing.

With the cart excluded from the ranking (Groceries, Instacart) the repeat part
is removed by the evaluator, and the model is its explorer, i.e. a baseline;
it is therefore run on Diginetica only.
"""

import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import methods  # noqa: E402

MAX_LEN_BUCKET = 5


def repeat_gate(sessions):
    """p_r per prefix length bucket (index 1..MAX_LEN_BUCKET), add-one smoothed."""
    rep = np.ones(MAX_LEN_BUCKET + 1)
    tot = np.full(MAX_LEN_BUCKET + 1, 2.0)
    for s in sessions:
        seen = set()
        for t in range(1, len(s)):
            seen.add(s[t - 1])
            b = min(t, MAX_LEN_BUCKET)
            tot[b] += 1
            rep[b] += s[t] in seen
    return rep / tot


def grid():
    """The validation grid: explorer family and k, repeat decay, gate."""
    out = []
    for fam in ("session kNN", "sequential session kNN"):
        for k in (20, 50, 100, 200):
            for decay in (0.0, 0.5, 2.0, 8.0):
                for gate in ("fitted", 0.5, 0.9):
                    out.append({"explorer": fam, "k": k, "decay": decay, "gate": gate})
    return out


def _explorer(fam, train_idx, n_items, k):
    make = dict((n, f) for n, f, _ in methods.grid())[fam]
    return make(train_idx, n_items, k=k)


class RepeatExplore:
    """recommend(cart keys, n) over the vocabulary plus the cart's own items."""

    name = "repeat/explore mixture (RepeatNet decomposition, kNN explorer)"

    def __init__(self, vocab, sessions, explorer, decay, gate, params=None):
        self.vocab, self.explorer, self.decay = vocab, explorer, decay
        self.gate = repeat_gate(sessions) if gate == "fitted" else np.full(MAX_LEN_BUCKET + 1, float(gate))
        self.params = dict(params or {})
        self.params["p_r by prefix length"] = [round(float(x), 3) for x in self.gate[1:]]
        self.pop_p = vocab.pop / max(vocab.pop.sum(), 1.0)

    def explore(self, cart):
        idx = [self.vocab.index[k] for k in cart if k in self.vocab.index]
        s = np.asarray(self.explorer(idx), dtype=np.float64).copy() if idx else np.zeros(len(self.vocab.keys))
        s[idx] = 0.0
        if s.sum() <= 0:
            s = self.pop_p.copy()
            s[idx] = 0.0
        return s / max(s.sum(), 1e-300)

    def scores(self, cart, explore=None):
        """{key: P(key)} over the vocabulary and the cart's items."""
        L = len(cart)
        w = {}
        for pos, k in enumerate(cart, 1):
            w[k] = w.get(k, 0.0) + math.exp(-self.decay * (L - pos))
        z = sum(w.values())
        p_r = self.gate[min(L, MAX_LEN_BUCKET)] if L else 0.0
        pe = self.explore(cart) if explore is None else explore
        p = (1 - p_r) * pe
        extra = {}
        for k, x in w.items():
            if k in self.vocab.index:
                p[self.vocab.index[k]] += p_r * x / z
            else:
                extra[k] = p_r * x / z
        return p, extra

    def recommend(self, cart, n, explore=None):
        p, extra = self.scores(cart, explore)
        top = self.vocab.top(p, n)
        if not extra:
            return top
        # items unseen in training: ranked by their mass among the vocabulary's top n
        # (popularity 0, so they follow a vocabulary item of equal mass)
        merged = [(-p[self.vocab.index[k]], 0, i, k) for i, k in enumerate(top)]
        merged += [(-x, 1, i, k) for i, (k, x) in enumerate(sorted(extra.items(), key=lambda kv: -kv[1]))]
        return [k for *_, k in sorted(merged)][:n]


def tune(vocab, train_keys, train_idx, val_cases, rank_fn):
    """Best grid point by validation MRR@20: (params, value). The explorer's
    answers are computed once per (family, k) and shared across decay and gate."""
    best = None
    by_exp = {}
    for p in grid():
        key = (p["explorer"], p["k"])
        if key not in by_exp:
            ex = _explorer(p["explorer"], train_idx, len(vocab.keys), p["k"])
            probe = RepeatExplore(vocab, train_keys, ex, 0.0, "fitted")
            by_exp[key] = (ex, {tuple(inp): probe.explore(inp) for _, inp, _ in val_cases})
        ex, cache = by_exp[key]
        m = RepeatExplore(vocab, train_keys, ex, p["decay"], p["gate"], p)
        v = rank_fn(_Cached(m, cache), val_cases)
        if best is None or v > best[1]:
            best = (p, v)
    return best


def build(vocab, sessions_keys, sessions_idx, p):
    ex = _explorer(p["explorer"], sessions_idx, len(vocab.keys), p["k"])
    return RepeatExplore(vocab, sessions_keys, ex, p["decay"], p["gate"], p)


class _Cached:
    def __init__(self, m, cache):
        self.m, self.cache = m, cache

    def recommend(self, cart, n):
        return self.m.recommend(cart, n, self.cache.get(tuple(cart)))
