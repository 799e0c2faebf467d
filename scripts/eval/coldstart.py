"""The cold-start rule for items a cart model never saw in training
(docs/evaluation.md A13): the reference implementation that the evaluation
scores and that the server's `new_items` source reproduces (vectors bit for bit)
(its Go golden is generated from this file).

A catalogue item u with no row in the model's item vectors gets the mean of
the vectors of the known items that are most like it by catalogue data only:

  S1 = known items in u's aisle sharing at least one name token with u
  S2 = known items in u's aisle                    (if S1 is empty)
  S3 = known items in u's department               (if S2 is empty)
  otherwise u has no vector and stays unreachable.

An empty aisle or department matches nothing. Name tokens are the maximal runs
of ASCII [a-z0-9] after lowercasing ASCII letters only (bytes of UTF-8 names),
so Go and Python split identically whatever the name holds. The mean is
summed in float64 in ascending known-item order, divided by |S|, then rounded
to float32: the same operations in the same order in both languages.

A session scores u by the dot product of its session embedding with u's
vector, as the model scores a known item; ties go to the lower catalogue
position (for Instacart, products.csv is in product-id order, so this is A13's
"lower product id"). The vectors are reproducible bit for bit; the scores are
not quite: numpy's float32 product sums in an order of its BLAS's choosing, so
two new items whose scores differ in the last bits may rank differently in Go
(recommend/testdata's golden fixtures avoid such near-ties).
"""

import re

import numpy as np

_TOKEN = re.compile(rb"[a-z0-9]+")


def tokens(name):
    """Name tokens: ASCII-lowercased maximal [a-z0-9] runs of the UTF-8 bytes."""
    return frozenset(t.decode("ascii") for t in _TOKEN.findall(name.encode("utf-8").lower()))


class Item:
    """Catalogue data of one item: aisle, department, name tokens."""

    __slots__ = ("aisle", "department", "tokens")

    def __init__(self, name, aisle, department):
        self.aisle = aisle or ""
        self.department = department or ""
        self.tokens = tokens(name or "")


def members(known, u):
    """The known-item indices whose vectors make u's (S1, else S2, else S3), ascending; [] if none."""
    if u.aisle:
        same = [i for i, k in enumerate(known) if k.aisle == u.aisle]
        s1 = [i for i in same if known[i].tokens & u.tokens]
        if s1:
            return s1
        if same:
            return same
    if u.department:
        return [i for i, k in enumerate(known) if k.department == u.department]
    return []


def cold_vectors(vectors, known, new):
    """vectors: float32 [len(known), d], row i = known[i]'s item vector.
    Returns (float32 [len(new), d], reachable bool [len(new)]); an unreachable row is zeros."""
    vectors = np.asarray(vectors, dtype=np.float32)
    out = np.zeros((len(new), vectors.shape[1]), dtype=np.float32)
    ok = np.zeros(len(new), dtype=bool)
    for j, u in enumerate(new):
        s = members(known, u)
        if not s:
            continue
        acc = np.zeros(vectors.shape[1], dtype=np.float64)
        for i in s:  # sequential, ascending: Go sums in the same order
            acc += vectors[i].astype(np.float64)
        out[j] = (acc / len(s)).astype(np.float32)
        ok[j] = True
    return out, ok


def top_new(session, vecs, ok, m, exclude=()):
    """The m best reachable new items for one session embedding, by score, ties by position."""
    if m <= 0:
        return []
    s = vecs @ np.asarray(session, dtype=np.float32)
    order = sorted((j for j in range(len(ok)) if ok[j] and j not in exclude), key=lambda j: (-s[j], j))
    return order[:m]
