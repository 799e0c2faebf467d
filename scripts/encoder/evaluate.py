"""Retrieval metrics with exact expectations under random tie-breaking.

Every ranker returns a score per candidate; tied candidates are ordered uniformly at random and
the metrics below are the exact expected values over that order (so BM25's many zero scores and
the random baseline are treated fairly and deterministically).
"""

import numpy as np


def _harmonic(n):
    h = np.zeros(n + 2, dtype=np.float64)
    h[1:] = np.cumsum(1.0 / np.arange(1, n + 2))
    return h


class SingleTarget:
    """Accumulates Recall@K and MRR for queries with exactly one relevant candidate."""

    def __init__(self, n_candidates, ks=(10,)):
        self.h = _harmonic(n_candidates + 1)
        self.ks = ks
        self.hits = {k: 0.0 for k in ks}
        self.rr = 0.0
        self.n = 0

    def add(self, scores, targets):
        """scores [q, N] (numpy), targets [q] candidate indices."""
        st = scores[np.arange(len(targets)), targets][:, None]
        g = (scores > st).sum(axis=1).astype(np.int64)  # strictly better
        e = (scores == st).sum(axis=1).astype(np.int64) - 1  # ties besides the target
        for k in self.ks:
            self.hits[k] += float(np.sum(np.clip(k - g, 0, e + 1) / (e + 1)))
        # E[1/rank], rank uniform on g+1 .. g+1+e
        self.rr += float(np.sum((self.h[g + 1 + e] - self.h[g]) / (e + 1)))
        self.n += len(targets)

    def result(self):
        out = {"queries": self.n, "mrr": self.rr / max(self.n, 1)}
        for k in self.ks:
            out["recall@%d" % k] = self.hits[k] / max(self.n, 1)
        return out


class MultiTarget:
    """Precision@K, Recall@K and MRR (first relevant) for queries with a set of relevant items."""

    def __init__(self, ks=(10,)):
        self.ks = ks
        self.p = {k: 0.0 for k in ks}
        self.r = {k: 0.0 for k in ks}
        self.rr = 0.0
        self.n = 0

    def add(self, scores, relevant):
        """scores [N], relevant bool [N] with at least one True."""
        order = np.argsort(-scores, kind="stable")
        s, rel = scores[order], relevant[order]
        # level boundaries of equal scores
        starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
        ends = np.r_[starts[1:], len(s)]
        nrel = int(rel.sum())
        got = {k: 0.0 for k in self.ks}
        rr = None
        for a, b in zip(starts, ends):
            m = b - a
            r = int(rel[a:b].sum())
            for k in self.ks:
                if b <= k:
                    got[k] += r
                elif a < k:
                    got[k] += r * (k - a) / m
            if rr is None and r > 0:
                # first relevant at position k (1-based within level): P = C(m-k, r-1) / C(m, r)
                p, acc = r / m, 0.0
                for j in range(1, m - r + 2):
                    acc += p / (a + j)
                    if j < m - r + 1:
                        p *= (m - j - r + 1) / (m - j)
                rr = acc
            if rr is not None and a >= max(self.ks):
                break
        for k in self.ks:
            self.p[k] += got[k] / k
            self.r[k] += got[k] / nrel
        self.rr += rr
        self.n += 1

    def result(self):
        n = max(self.n, 1)
        out = {"queries": self.n, "mrr": self.rr / n}
        for k in self.ks:
            out["precision@%d" % k] = self.p[k] / n
            out["recall@%d" % k] = self.r[k] / n
        return out
