"""Non-neural baselines and the ranking metrics shared with the GNN.

All baselines work on 0-based model indices and return a dense score vector over
the vocabulary for one cart; ranking (with cart exclusion and popularity tie-break)
is done by `rank_metrics` for every method alike.
"""

import itertools
import math
from collections import Counter, defaultdict

import numpy as np

KS = (10, 20)


def rank_metrics(score_fn, cases, n_items, exclude_cart, pop, ranks=None):
    """HR@K / MRR@K over cases [(input indices, target index or -1)].

    score_fn(cart) -> float array [n_items]. Ties break by popularity (a tiny
    epsilon times normalised popularity), items in the cart are excluded when
    exclude_cart, and an empty input cart is answered by popularity for every
    method (fallback). Targets outside the vocabulary (-1) count as misses.
    """
    popn = pop / (pop.max() + 1.0)
    hits = {k: 0.0 for k in KS}
    mrr = {k: 0.0 for k in KS}
    kmax = max(KS)
    for cart, target in cases:
        if target < 0:
            if ranks is not None:
                ranks.append(0)
            continue
        if cart:
            s = np.asarray(score_fn(cart), dtype=np.float64).copy()
        else:
            s = pop.astype(np.float64).copy()
        s = s + 1e-9 * popn * (np.abs(s).max() + 1.0)
        if exclude_cart and cart:
            s[list(set(cart))] = -np.inf
        top = np.argpartition(-s, kmax)[:kmax] if n_items > kmax else np.arange(n_items)
        top = top[np.argsort(-s[top], kind="stable")]
        where = np.nonzero(top == target)[0]
        if ranks is not None:
            ranks.append(int(where[0]) + 1 if len(where) else 0)
        if len(where):
            r = int(where[0]) + 1
            for k in KS:
                if r <= k:
                    hits[k] += 1
                    mrr[k] += 1.0 / r
    n = len(cases)
    out = {}
    for k in KS:
        out["HR@%d" % k] = hits[k] / n
        out["MRR@%d" % k] = mrr[k] / n
    return out


def popularity(train, n_items):
    c = np.zeros(n_items)
    for s in train:
        for i in s:
            c[i] += 1
    return c


class Popular:
    name = "most popular"

    def __init__(self, train, n_items):
        self.pop = popularity(train, n_items)

    def __call__(self, cart):
        return self.pop


class Cooccurrence:
    """Item-to-item co-occurrence: score(j) = sum over distinct cart items i of
    w(i, j), w = number of training sessions holding both (raw) or that count
    divided by sqrt(n_i n_j) (cosine)."""

    name = "item-to-item co-occurrence"

    def __init__(self, train, n_items, cosine=False):
        self.n_items = n_items
        cnt = defaultdict(Counter)
        n = np.zeros(n_items)
        for s in train:
            u = sorted(set(s))
            for i in u:
                n[i] += 1
            for a, b in itertools.permutations(u, 2):
                cnt[a][b] += 1
        self.rows = {}
        for i, row in cnt.items():
            js = np.fromiter(row.keys(), dtype=np.int64, count=len(row))
            ws = np.fromiter(row.values(), dtype=np.float64, count=len(row))
            if cosine:
                ws = ws / np.sqrt(n[i] * n[js])
            self.rows[i] = (js, ws)
        self.params = {"cosine": cosine}

    def __call__(self, cart):
        s = np.zeros(self.n_items)
        for i in set(cart):
            if i in self.rows:
                js, ws = self.rows[i]
                s[js] += ws
        return s


class AssociationRules:
    """Association rules X -> {y}, |X| <= 2, mined from the training sessions
    as transactions (Apriori-style support / confidence thresholds, as arules'
    apriori(supp, conf, maxlen=3)). A cart's candidates are the right-hand sides of
    rules whose left-hand side is contained in the cart, ranked by lift (max over
    matching rules, ties by confidence); items without a matching rule rank below
    them by popularity."""

    name = "association rules (lift)"

    def __init__(self, train, n_items, min_count, min_conf):
        self.n_items = n_items
        N = len(train)
        txs = [sorted(set(s)) for s in train]
        c1 = Counter(i for t in txs for i in t)
        f1 = {i for i, c in c1.items() if c >= min_count}
        c2 = Counter()
        for t in txs:
            t = [i for i in t if i in f1]
            c2.update(itertools.combinations(t, 2))
        f2 = {p: c for p, c in c2.items() if c >= min_count}
        c3 = Counter()
        for t in txs:
            t = [i for i in t if i in f1]
            if len(t) < 3:
                continue
            for tri in itertools.combinations(t, 3):
                if (tri[0], tri[1]) in f2 and (tri[0], tri[2]) in f2 and (tri[1], tri[2]) in f2:
                    c3[tri] += 1
        rules = defaultdict(list)  # lhs tuple -> [(y, lift, conf)]

        def add(lhs, y, sxy, sx):
            conf = sxy / sx
            if conf >= min_conf:
                rules[lhs].append((y, conf / (c1[y] / N), conf))

        for (a, b), c in f2.items():
            add((a,), b, c, c1[a])
            add((b,), a, c, c1[b])
        for (a, b, d), c in c3.items():
            if c < min_count:
                continue
            add((a, b), d, c, f2[(a, b)])
            add((a, d), b, c, f2[(a, d)])
            add((b, d), a, c, f2[(b, d)])
        self.rules = {k: (np.array([r[0] for r in v]), np.array([r[1] for r in v]), np.array([r[2] for r in v]))
                      for k, v in rules.items()}
        self.n_rules = sum(len(v) for v in rules.values())
        self.params = {"min_count": min_count, "min_support": min_count / N, "min_conf": min_conf}

    def __call__(self, cart):
        lift = np.zeros(self.n_items)
        conf = np.zeros(self.n_items)
        u = sorted(set(cart))
        lhss = [(i,) for i in u] + list(itertools.combinations(u, 2))
        for lhs in lhss:
            r = self.rules.get(lhs)
            if r is None:
                continue
            ys, ls, cs = r
            np.maximum.at(lift, ys, ls)
            np.maximum.at(conf, ys, cs)
        # rule items first (by lift, then confidence); the rest tie at 0 -> popularity
        return lift + 1e-6 * conf


class SessionKNN:
    """Session-based kNN (Jannach & Ludewig 2017, "SKNN"): cosine similarity
    between binary item sets, the k most similar training sessions vote for
    their items with their similarity."""

    name = "session kNN"

    def __init__(self, train, n_items, k):
        self.n_items = n_items
        self.k = k
        self.sets = [np.array(sorted(set(s)), dtype=np.int64) for s in train]
        self.size = np.array([len(s) for s in self.sets], dtype=np.float64)
        inv = defaultdict(list)
        for sid, s in enumerate(self.sets):
            for i in s:
                inv[i].append(sid)
        self.inv = {i: np.array(v, dtype=np.int64) for i, v in inv.items()}
        self.params = {"k": k}

    def __call__(self, cart):
        u = set(cart)
        lists = [self.inv[i] for i in u if i in self.inv]
        s = np.zeros(self.n_items)
        if not lists:
            return s
        ov = np.bincount(np.concatenate(lists), minlength=len(self.sets)).astype(np.float64)
        cand = np.nonzero(ov)[0]
        sim = ov[cand] / np.sqrt(len(u) * self.size[cand])
        if len(cand) > self.k:
            keep = np.argpartition(-sim, self.k)[: self.k]
            cand, sim = cand[keep], sim[keep]
        for sid, w in zip(cand, sim):
            s[self.sets[sid]] += w
        return s


def tune(make, grid, train, val_cases, n_items, exclude_cart, pop):
    """Picks the grid point with the best val MRR@20; returns (params, metrics)."""
    best = None
    for params in grid:
        m = rank_metrics(make(train, n_items, **params), val_cases, n_items, exclude_cart, pop)
        if best is None or m["MRR@20"] > best[1]["MRR@20"]:
            best = (params, m)
    return best


def build_baselines(train, val_cases, n_items, exclude_cart, log=print):
    """Tunes each baseline on val with the train split and returns
    [(name, params, factory)] to refit on the full training data."""
    pop = popularity(train, n_items)
    n = len(train)
    out = [("most popular", {}, lambda tr, ni: Popular(tr, ni))]
    p, m = tune(lambda tr, ni, **kw: Cooccurrence(tr, ni, **kw),
                [{"cosine": False}, {"cosine": True}], train, val_cases, n_items, exclude_cart, pop)
    log("  co-occurrence val best %s MRR@20=%.4f" % (p, m["MRR@20"]))
    out.append(("item-to-item co-occurrence", p, lambda tr, ni, p=p: Cooccurrence(tr, ni, **p)))
    counts = sorted({2, 3, 5, max(2, int(math.ceil(0.001 * n))), max(2, int(math.ceil(0.002 * n)))})
    grid = [{"min_count": c, "min_conf": cf} for c in counts for cf in (0.01, 0.05, 0.1, 0.2)]
    p, m = tune(lambda tr, ni, **kw: AssociationRules(tr, ni, **kw), grid, train, val_cases, n_items, exclude_cart, pop)
    log("  arules val best %s MRR@20=%.4f" % (p, m["MRR@20"]))
    out.append(("association rules (lift)", p, lambda tr, ni, p=p: AssociationRules(tr, ni, **p)))
    p, m = tune(lambda tr, ni, **kw: SessionKNN(tr, ni, **kw),
                [{"k": k} for k in (20, 50, 100, 200, 500, 1000)], train, val_cases, n_items, exclude_cart, pop)
    log("  sknn val best %s MRR@20=%.4f" % (p, m["MRR@20"]))
    out.append(("session kNN", p, lambda tr, ni, p=p: SessionKNN(tr, ni, **p)))
    return out
