"""The naive-Bayes aisle classifier (docs/evaluation.md 2.3) and the hybrid
search score built on it (A5). The Go packages `intent` and `fusion` compute
the same numbers; scripts/eval/hybrid_golden.py writes the fixture their test
compares against.

Classifier: multinomial naive Bayes over name terms (BM25's tokenisation),
add-one smoothing over the vocabulary of all training names:

    log P(t | a) = log((count(t, a) + 1) / (total(a) + V))
    log P(a | text) = log P(a) + sum over the text's known terms (repeats count) - normaliser

Hybrid (A5): score(q, d) = cos(q, d) + w_l * BM25(q, d) / max BM25(q, .) + w_i * I(q, d).
"""

import math
import os
import sys
from collections import Counter, defaultdict

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "encoder"))
from bm25 import terms  # noqa: E402


class NaiveBayesAisle:
    """Fitted on (name, aisle) pairs; logpost(texts) -> [n, n_aisles] log P(aisle | text)."""

    def __init__(self, names, labels):
        self.aisles = sorted(set(labels))
        self.col = {a: j for j, a in enumerate(self.aisles)}
        cnt = defaultdict(Counter)
        prior = Counter(labels)
        for n, a in zip(names, labels):
            cnt[a].update(terms(n))
        self.vocab = sorted({t for c in cnt.values() for t in c})
        self.row = {t: i for i, t in enumerate(self.vocab)}
        V = len(self.vocab)
        self.logp = np.zeros((V, len(self.aisles)))
        for a, c in cnt.items():
            tot = sum(c.values())
            col = np.full(V, math.log(1.0 / (tot + V)))
            for t, k in c.items():
                col[self.row[t]] = math.log((k + 1.0) / (tot + V))
            self.logp[:, self.col[a]] = col
        self.logprior = np.log(np.array([prior[a] for a in self.aisles], dtype=np.float64) / len(labels))
        # an aisle's name as a query, for the exact switch: its terms joined by one space
        # (a label with no terms is skipped: under "" it would make every query without terms one)
        self.exact = {" ".join(terms(a)): j for j, a in enumerate(self.aisles) if terms(a)}

    def _log_joint(self, text):
        rows = [self.row[t] for t in terms(text) if t in self.row]
        s = self.logprior.copy()
        for r in rows:  # in term order, as the Go classifier adds them
            s = s + self.logp[r]
        return s, bool(rows)

    def logpost(self, names):
        out = np.zeros((len(names), len(self.aisles)))
        for i, n in enumerate(names):
            s, _ = self._log_joint(n)
            out[i] = s - np.logaddexp.reduce(s)
        return out

    def predict(self, names):
        """The most probable aisle index of each name (ties: the first aisle in sorted order)."""
        return np.array([int(np.argmax(self._log_joint(n)[0])) for n in names], dtype=np.int64)

    def query_posterior(self, query, exact):
        """P(aisle | query) [n_aisles], or None when no query term is known (no intent signal).
        With exact, a query whose terms equal an aisle name's terms is that aisle with P = 1."""
        if exact:
            j = self.exact.get(" ".join(terms(query)))
            if j is not None:
                p = np.zeros(len(self.aisles))
                p[j] = 1.0
                return p
        s, known = self._log_joint(query)
        if not known:
            return None
        return np.exp(s - np.logaddexp.reduce(s))


def intent_matrix(nb, queries, exact, form, item_aisle=None, item_post=None):
    """I(q, d) [n_queries, n_items]: hard = P(â(d) | q) with item_aisle = nb.predict(names);
    soft = sum_a P(a | q) P(a | name d) with item_post = exp(nb.logpost(names))."""
    n = len(item_aisle) if form == "hard" else item_post.shape[0]
    out = np.zeros((len(queries), n), dtype=np.float64)
    for i, q in enumerate(queries):
        p = nb.query_posterior(q, exact)
        if p is None:
            continue
        out[i] = p[item_aisle] if form == "hard" else item_post @ p
    return out


def lexical_normalised(bm):
    """BM25 [n_queries, n_items] divided by each query's best (0 where nothing matches)."""
    mx = bm.max(axis=1, keepdims=True)
    return np.divide(bm, mx, out=np.zeros_like(bm), where=mx > 0)


def hybrid(cos, lex_norm, intent, wl, wi):
    """The A5 score, added in this order (the Go code adds in the same order)."""
    return cos + wl * lex_norm + wi * intent


INTENT_MASS = 0.999  # A7: the query's top aisles whose P(a | q) first sum to at least this


def top_c(x, c, among=None, tie=None):
    """Positions of the c largest x (ties: the larger tie first when given, then the lower position); among
    restricts to those positions."""
    if among is None:
        among = np.arange(len(x))
    if tie is None:
        return among[np.argsort(-x[among], kind="stable")[:c]]
    return among[np.lexsort((among, -tie[among], -x[among]))[:c]]


def top_aisles(p, mass=INTENT_MASS):
    """A7's A_q: aisles by decreasing P(a | q) (ties: the lower index first) until their sum reaches mass."""
    order = np.argsort(-p, kind="stable")
    s, out = 0.0, []
    for a in order:
        out.append(int(a))
        s += p[a]
        if s >= mass:
            break
    return out


def union_candidates(cos, raw, p, form, item_aisle, item_post, c, soft_loop=False, with_cos=True, tie=None):
    """A7: the sorted positions of the union of the top c by cosine, the top c by BM25 (raw > 0 only) and the
    top c by the intent term over the items predicted in top_aisles(p) (none when p is None). soft_loop adds
    the soft term in aisle order, as the Go code does (the golden fixture's boundary ties). tie: A9, the
    intent list orders by (I descending, tie descending, position ascending), tie being the cosine to the
    query (-inf for an item without one); None is A7's rule (I descending, position ascending)."""
    parts = [top_c(cos, c)] if with_cos else []
    hit = np.flatnonzero(raw > 0)
    parts.append(top_c(raw, c, hit))
    if p is not None:
        aq = top_aisles(p)
        members = np.flatnonzero(np.isin(item_aisle, aq))
        if form == "hard":
            I = p[item_aisle]
        elif soft_loop:
            I = np.zeros(len(item_aisle))
            for d in members:
                s = 0.0
                for a in range(len(p)):
                    s += p[a] * item_post[d, a]
                I[d] = s
        else:
            I = item_post @ p
        parts.append(top_c(I, c, members, tie))
    return np.unique(np.concatenate(parts))
