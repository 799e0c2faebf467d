"""Ranking, metrics and the paired bootstrap of docs/evaluation.md (1.2, 1.3).

A method is any object with `recommend(cart_keys, n) -> [keys]` (best first).
`ranks()` turns its answers on the cases into a rank per case (0 = not in the
top 20); everything else works on those rank arrays, so every model and
baseline is scored by the same lines.
"""

import numpy as np

KS = (10, 20)
KMAX = max(KS)
METRICS = ["HR@10", "HR@20", "MRR@10", "MRR@20", "NDCG@10", "NDCG@20"]
B = 2000
SEED = 14


def ranks(method, cases, exclude_cart):
    """Rank (1-based, 0 = miss) of the target of each case in the method's top 20.
    With exclude_cart the cart's items are removed before the cut (the server does this)."""
    if hasattr(method, "prime"):
        method.prime([inp for _, inp, _ in cases])
    out = np.zeros(len(cases), dtype=np.int64)
    for c, (_, inp, tgt) in enumerate(cases):
        cart = set(inp) if exclude_cart else set()
        rec = method.recommend(inp, KMAX + len(cart))
        top = [k for k in rec if k not in cart][:KMAX]
        for r, k in enumerate(top, 1):
            if k == tgt:
                out[c] = r
                break
    return out


def per_case(r):
    """{metric: float array per case} from ranks."""
    r = np.asarray(r)
    hit = r > 0
    rr = np.where(hit, 1.0 / np.maximum(r, 1), 0.0)
    nd = np.where(hit, 1.0 / np.log2(np.maximum(r, 1) + 1.0), 0.0)
    out = {}
    for k in KS:
        ink = hit & (r <= k)
        out["HR@%d" % k] = ink.astype(np.float64)
        out["MRR@%d" % k] = np.where(ink, rr, 0.0)
        out["NDCG@%d" % k] = np.where(ink, nd, 0.0)
    return out


def means(r):
    return {m: float(v.mean()) for m, v in per_case(r).items()}


class Bootstrap:
    """Paired cluster bootstrap: resamples units with replacement; every method
    and every difference uses the same B resamples."""

    def __init__(self, units, b=B, seed=SEED):
        units = list(units)
        uniq = sorted(set(units), key=units.index)
        pos = {u: i for i, u in enumerate(uniq)}
        self.case_unit = np.array([pos[u] for u in units], dtype=np.int64)
        self.n_units = len(uniq)
        counts = np.bincount(self.case_unit, minlength=self.n_units).astype(np.float64)
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, self.n_units, size=(b, self.n_units))
        # multiplicity of each unit in each resample: [b, n_units]
        self.w = np.zeros((b, self.n_units))
        np.add.at(self.w, (np.repeat(np.arange(b), self.n_units), idx.ravel()), 1.0)
        self.den = self.w @ counts

    def resampled(self, values):
        """Resampled means [b] of a per-case array."""
        s = np.bincount(self.case_unit, weights=values, minlength=self.n_units)
        return (self.w @ s) / self.den

    def interval(self, values):
        x = self.resampled(values)
        return [float(np.percentile(x, 2.5)), float(np.percentile(x, 97.5))]

    def diff(self, a, b):
        """Mean of a - b and its paired 95% interval (a, b per-case arrays)."""
        d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
        return float(d.mean()), self.interval(d)
