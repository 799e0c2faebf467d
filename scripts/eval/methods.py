"""Adapters from score functions to the key-space `recommend` interface, and the
baselines of docs/evaluation.md section 3 that scripts/gnn/baselines.py lacks
(sequential session kNN, the repeat rule). The fitted baselines themselves
(popular, co-occurrence, association rules, session kNN) are those of
scripts/gnn/baselines.py, so the numbers stay comparable with docs/models-gnn.md.
"""

import os
import sys
from collections import Counter, defaultdict

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "gnn"))
import baselines as gb  # noqa: E402


class Vocab:
    """Keys <-> 0-based indices, and training popularity for tie-breaks."""

    def __init__(self, keys, sessions):
        self.keys = list(keys)
        self.index = {k: i for i, k in enumerate(self.keys)}
        self.pop = np.zeros(len(self.keys))
        for s in sessions:
            for k in s:
                if k in self.index:
                    self.pop[self.index[k]] += 1
        # tie order: popularity desc, then index
        self.tie = np.lexsort((np.arange(len(self.keys)), -self.pop))

    @staticmethod
    def build(sessions, fixed=None):
        if fixed is not None:
            return Vocab(fixed, sessions)
        c = Counter(k for s in sessions for k in s)
        return Vocab(sorted(c, key=lambda k: (-c[k], k)), sessions)

    def encode(self, sessions):
        return [[self.index[k] for k in s if k in self.index] for s in sessions]

    def top(self, scores, n):
        """Keys of the n best scores; ties by popularity then index."""
        order = np.lexsort((np.arange(len(scores)), -self.pop, -np.asarray(scores, dtype=np.float64)))
        return [self.keys[i] for i in order[:n]]

    def popular(self, n):
        return [self.keys[i] for i in self.tie[:n]]


class Scored:
    """recommend() from score_fn(index cart) -> scores over the vocabulary; a cart
    with no known item gets popularity."""

    def __init__(self, name, vocab, score_fn, params=None):
        self.name, self.vocab, self.score_fn, self.params = name, vocab, score_fn, params or {}

    def recommend(self, cart, n):
        idx = [self.vocab.index[k] for k in cart if k in self.vocab.index]
        if not idx:
            return self.vocab.popular(n)
        return self.vocab.top(self.score_fn(idx), n)


class RepeatRule:
    """The session's own items, most recent first, then the most popular items.
    Needs no training beyond popularity; shows items unseen in training too."""

    name = "repeat rule"
    params = {}

    def __init__(self, vocab):
        self.vocab = vocab

    def recommend(self, cart, n):
        out, seen = [], set()
        for k in reversed(cart):
            if k not in seen:
                seen.add(k)
                out.append(k)
        for k in self.vocab.popular(n + len(seen)):
            if k not in seen:
                out.append(k)
        return out[:n]


class SequentialKNN:
    """V-SKNN (Ludewig & Jannach 2018): the current session's items weighted by a
    linear position decay (most recent 1, first 1/L); a training session's
    similarity is the sum of the weights of the items it shares, over L; the k
    most similar sessions vote for their items with that similarity."""

    def __init__(self, train, n_items, k):
        self.n_items, self.k = n_items, k
        self.sets = [np.array(sorted(set(s)), dtype=np.int64) for s in train]
        inv = defaultdict(list)
        for sid, s in enumerate(self.sets):
            for i in s:
                inv[i].append(sid)
        self.inv = {i: np.array(v, dtype=np.int64) for i, v in inv.items()}
        self.n_sessions = len(self.sets)
        self.params = {"k": k}

    def __call__(self, cart):
        L = len(cart)
        w = {}
        for p, i in enumerate(cart, 1):
            w[i] = p / L  # a repeated item keeps its most recent weight
        sim = np.zeros(self.n_sessions)
        for i, wi in w.items():
            if i in self.inv:
                sim[self.inv[i]] += wi
        sim /= L
        s = np.zeros(self.n_items)
        cand = np.nonzero(sim)[0]
        if len(cand) == 0:
            return s
        sv = sim[cand]
        if len(cand) > self.k:
            keep = np.argpartition(-sv, self.k)[: self.k]
            cand, sv = cand[keep], sv[keep]
        for sid, x in zip(cand, sv):
            s[self.sets[sid]] += x
        return s


def grid():
    """(name, factory(train_idx, n_items, **params), param grid) of the fitted baselines."""
    ks = [{"k": k} for k in (20, 50, 100, 200, 500, 1000)]
    return [
        ("most popular", lambda tr, ni: gb.Popular(tr, ni), [{}]),
        ("item-to-item co-occurrence", lambda tr, ni, **p: gb.Cooccurrence(tr, ni, **p),
         [{"cosine": False}, {"cosine": True}]),
        ("association rules (lift)", lambda tr, ni, **p: gb.AssociationRules(tr, ni, **p), None),
        ("session kNN", lambda tr, ni, **p: gb.SessionKNN(tr, ni, **p), ks),
        ("sequential session kNN", lambda tr, ni, **p: SequentialKNN(tr, ni, **p), ks),
    ]


def arules_grid(n_train):
    import math
    counts = sorted({2, 3, 5, max(2, int(math.ceil(0.001 * n_train))), max(2, int(math.ceil(0.002 * n_train)))})
    return [{"min_count": c, "min_conf": cf} for c in counts for cf in (0.01, 0.05, 0.1, 0.2)]
