#!/usr/bin/python3
"""docs/evaluation.md A13 on Instacart: the protocol GNN plus the cold-start rule of
coldstart.py for products it never saw in training.

Known items are the training vocabulary (train minus validation for validation, train +
validation for test), their vectors the GNN's item table (E plus the side vectors) in the
model's item order; new items are every other product of products.csv, in product-id order
(A13's tie rule "lower product id" is coldstart.top_new's "lower position"). A case's
session embedding is the model's own (SRGNN.session: its dot with the item table is the
GNN's score, checked for every cart). The list is the GNN's top 20 − m known items followed
by the m best new items (cart items excluded); m ∈ {0, 1, 2, 3, 5} is chosen by validation
MRR@20 with model-fit.pt (ties: smaller m), then scored once on test with model.pt.
m = 0 must give the GNN's ranks in build/eval/instacart.json exactly.

A cart with no item known to the vocabulary has no session embedding: like the GNN it gets
popularity, and no new item (A13 scores new items only through a session embedding).

Needs build/eval/instacart.json (run_cart.py instacart --trained "SR-GNN (side features, PPMI
init)=build/gnn/protocol/instacart") and build/gnn/protocol/instacart/ (train_gnns.sh
instacart). Writes build/eval/instacart-coldstart.json (report.py --only coldstart-instacart).

  AISLE_SHARED=../shared /usr/bin/python3 scripts/eval/run_coldstart.py instacart
"""

import argparse
import copy
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import coldstart  # noqa: E402
import metrics  # noqa: E402

MS = (0, 1, 2, 3, 5)  # A13's m values, in tie order (smaller first)
GNN_ROW = "SR-GNN (side features, PPMI init)"
NAME = "SR-GNN + cold start (A13, m=%d)"


def cold_list(known, new, m, cart=(), n=metrics.KMAX):
    """A13's list rule: the known items' ranking (cart items dropped) cut at n − m', then the
    m' best new items (already ranked, cart items dropped), m' = min(m, new items left): a cart
    with fewer new items (none when it has no session embedding) keeps those places for known
    items. Ranks beyond n are undefined."""
    cs = set(cart)
    add = [k for k in new if k not in cs][:m]
    return [k for k in known if k not in cs][:n - len(add)] + add


def pick_m(val_mrr):
    """The m with the highest validation MRR@20; ties go to the smaller m."""
    return min(val_mrr, key=lambda m: (-round(val_mrr[m], 12), m))


def subsets(targets, known):
    """Per-case flags: the target is outside the known vocabulary (unseen in training)."""
    return np.array([t not in known for t in targets], dtype=bool)


class ColdStart:
    """A13's method over a protocol GNN (gnn_method.GNN): recommend() for metrics.ranks."""

    def __init__(self, gnn, catalogue, m, name=None):
        self.gnn, self.m = gnn, m
        self.name, self.params = name or NAME % m, {"m": m}
        model = gnn.model
        model.eval()
        import torch
        with torch.no_grad():
            table = model.item_table()[1:].numpy()  # row j = model index j
        # known = the evaluation vocabulary, in the model's item order (coldstart sums in that order)
        rows = [j for j, k in enumerate(gnn.keys) if k in gnn.vocab.index]
        self.table = table  # every model row, for the score check
        known_keys = [gnn.keys[j] for j in rows]
        known_set = set(known_keys)
        self.new_keys = sorted(k for k in catalogue if k not in known_set)
        self.new_pos = {k: j for j, k in enumerate(self.new_keys)}
        self.vecs, self.ok = coldstart.cold_vectors(table[rows], [catalogue[k] for k in known_keys],
                                                    [catalogue[k] for k in self.new_keys])
        self.sessions = {}  # tuple of model indices -> session embedding float32 [d]
        self.best_new = {}  # tuple(cart) -> the max(MS) best new keys
        self.checked = 0

    def prime(self, inputs):
        """Session embeddings of every distinct known-item cart, in GNN.prime's batches; checks that
        their dot with the item table is the GNN's own score row."""
        import torch
        from graph import build_batch
        self.gnn.prime(inputs)
        todo = sorted({tuple(self.gnn.mindex[k] for k in c if k in self.gnn.mindex) for c in inputs} - {()})
        todo = [t for t in todo if t not in self.sessions]
        with torch.no_grad():
            for i in range(0, len(todo), 256):
                chunk = todo[i:i + 256]
                items, A, alias, mask = build_batch([list(t) for t in chunk])
                s = self.gnn.model.session(torch.from_numpy(items), torch.from_numpy(A), torch.from_numpy(alias),
                                           torch.from_numpy(mask)).numpy()
                for t, row in zip(chunk, s):
                    want = self.gnn.cache[t]
                    err = float(np.abs(self.table @ row - want).max())
                    if err > 1e-4 * max(1.0, float(np.abs(want).max())):
                        raise SystemExit("session embedding . item table differs from the GNN's scores by %g" % err)
                    self.sessions[t] = row
                    self.checked += 1

    def new_for(self, cart):
        t = tuple(cart)
        if t not in self.best_new:
            s = self.sessions.get(tuple(self.gnn.mindex[k] for k in cart if k in self.gnn.mindex))
            if s is None:
                self.best_new[t] = []
            else:
                excl = {self.new_pos[k] for k in cart if k in self.new_pos}
                self.best_new[t] = [self.new_keys[j] for j in coldstart.top_new(s, self.vecs, self.ok, max(MS), excl)]
        return self.best_new[t]

    def new_rank(self, cart, target):
        """1-based rank of a new target among the reachable new items by this cart's session scores
        (top_new's order, cart items dropped); 0 when it cannot be reached (no session or no vector)."""
        s = self.sessions.get(tuple(self.gnn.mindex[k] for k in cart if k in self.gnn.mindex))
        j = self.new_pos.get(target)
        if s is None or j is None or not self.ok[j]:
            return 0
        sc = self.vecs @ np.asarray(s, dtype=np.float32)
        live = self.ok.copy()
        live[[self.new_pos[k] for k in cart if k in self.new_pos]] = False
        pos = np.arange(len(sc))
        ahead = live & ((sc > sc[j]) | ((sc == sc[j]) & (pos < j)))
        return int(ahead.sum()) + 1

    def with_m(self, m):
        c = ColdStart.__new__(ColdStart)
        c.__dict__.update(self.__dict__)  # shares the caches
        c.m, c.name, c.params = m, NAME % m, {"m": m}
        return c

    def recommend(self, cart, n):
        known = self.gnn.recommend(cart, n)
        if self.m == 0:
            return known
        return cold_list(known, self.new_for(cart), self.m, cart)


def catalogue(base):
    """product id -> coldstart.Item (name, aisle name, department name) from the Instacart CSVs."""
    import data
    aisles = {int(r["aisle_id"]): r["aisle"] for r in data._read_csv(os.path.join(base, "aisles.csv"))}
    depts = {int(r["department_id"]): r["department"] for r in data._read_csv(os.path.join(base, "departments.csv"))}
    return {int(r["product_id"]): coldstart.Item(r["product_name"], aisles.get(int(r["aisle_id"]), ""),
                                                 depts.get(int(r["department_id"]), ""))
            for r in data._read_csv(os.path.join(base, "products.csv"))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset", choices=["instacart"])
    ap.add_argument("--eval", default=os.path.join(ROOT, "build", "eval"))
    ap.add_argument("--gnn", default=os.path.join(ROOT, "build", "gnn", "protocol", "instacart"),
                    help="train.py output: model-fit.pt scores validation, model.pt test")
    args = ap.parse_args()
    import gnn_method  # here, not above: scripts/gnn's data.py and model.py share names with scripts/encoder
    import methods
    import protocol

    t0 = time.time()
    log = lambda s: print(s, flush=True)  # noqa: E731
    with open(os.path.join(args.eval, "instacart.json")) as f:
        base = json.load(f)
    sp = protocol.instacart()
    vc, tc = protocol.cases(sp, "val"), protocol.cases(sp, "test")
    if base["units"] != [u for u, _, _ in tc] or base["test_cases"] != len(tc):
        raise SystemExit("instacart.json was written for other test cases")
    gnn_row = next((m for m in base["methods"] if m["method"] == GNN_ROW), None)
    if gnn_row is None:
        raise SystemExit("instacart.json has no %r row" % GNN_ROW)
    cat = catalogue(os.path.join(protocol.data.DATA, "instacart"))

    # Validation: the GNN fitted on train minus validation; known = that vocabulary.
    tv = methods.Vocab.build(sp.train)
    fit = gnn_method.trained(args.gnn, args.gnn, tv, "GNN (fit)", groups=sp.groups, weights="model-fit.pt")
    cold = ColdStart(fit, cat, 0)
    cold.prime([inp for _, inp, _ in vc])
    val = {}
    for m in MS:
        val[m] = metrics.means(metrics.ranks(cold.with_m(m), vc, sp.exclude_cart))
    chosen = pick_m({m: v["MRR@20"] for m, v in val.items()})
    vflags = subsets([t for _, _, t in vc], tv.index)
    # diagnostic (validation only): where the unseen targets rank among the new items
    vnew = [cold.new_rank(inp, t) for (_, inp, t), f in zip(vc, vflags) if f]
    reached = [r for r in vnew if r]  # 0: the target got no vector or the cart no session
    log("validation unseen targets' rank among the new items: median %g, best %d, in the top 5: %d of %d" % (
        float(np.median(reached)) if reached else 0.0, min(reached, default=0), sum(1 for r in reached if r <= 5),
        len(vnew)))
    log("validation (%d cases, %d unseen targets, %d new items, %d reachable): %s; chosen m=%d" % (
        len(vc), int(vflags.sum()), len(cold.new_keys), int(cold.ok.sum()),
        ", ".join("m=%d MRR@20 %.4f HR@20 %.4f" % (m, v["MRR@20"], v["HR@20"]) for m, v in val.items()), chosen))

    val_new = len(cold.new_keys)
    # the model-fit GNN reads validation-only items of a cart (they are in its vocabulary, A12 did the same)
    val_read = sum(1 for _, inp, _ in vc if any(k in fit.mindex and k not in tv.index for k in inp))
    # sensitivity, validation only: A13's "the cart's unseen items stay out of the session" read strictly
    # (the model-fit GNN given only the training vocabulary's items; not the GNN above, so not m's choice)
    strict = copy.copy(fit)
    strict.mindex, strict.cache = {k: i for k, i in fit.mindex.items() if k in tv.index}, {}
    sc = ColdStart(strict, cat, 0)
    sc.prime([inp for _, inp, _ in vc])
    val_strict = {m: metrics.means(metrics.ranks(sc.with_m(m), vc, sp.exclude_cart)) for m in MS}
    log("validation, validation-only cart items out of the session (%d carts have some): %s; would choose m=%d" % (
        val_read, ", ".join("m=%d MRR@20 %.4f" % (m, v["MRR@20"]) for m, v in val_strict.items()),
        pick_m({m: v["MRR@20"] for m, v in val_strict.items()})))

    # Test, once: model.pt, known = train + validation vocabulary.
    vocab = methods.Vocab.build(sp.train + sp.val)
    gnn = gnn_method.trained(args.gnn, args.gnn, vocab, "GNN", groups=sp.groups)
    cold = ColdStart(gnn, cat, 0)
    cold.prime([inp for _, inp, _ in tc])
    r0 = metrics.ranks(cold, tc, sp.exclude_cart)
    if r0.tolist() != gnn_row["ranks"]:
        raise SystemExit("m=0 does not reproduce the GNN's ranks in instacart.json")
    r = metrics.ranks(cold.with_m(chosen), tc, sp.exclude_cart)
    flags = subsets([t for _, _, t in tc], vocab.index)
    no_session = sum(1 for _, inp, _ in tc if not any(k in vocab.index for k in inp))
    log("test m=%d: %s (unseen targets %d; carts with no known item %d)" % (
        chosen, metrics.means(r), int(flags.sum()), no_session))

    res = dict(base)
    res["methods"] = [{"method": NAME % chosen, "kind": "model", "params": {"m": chosen}, "ranks": r.tolist()}] + [
        x for x in base["methods"] if x["kind"] == "baseline"] + [dict(gnn_row, kind="reference")]
    res["unseen_target_flags"] = flags.astype(int).tolist()
    res["validation"] = {"val_cases": len(vc), "unseen_targets": int(vflags.sum()), "chosen": chosen,
                         "by_m": {str(m): v for m, v in val.items()}, "unseen_new_ranks": vnew,
                         "new_items": val_new, "carts_with_val_only_items": val_read,
                         "strict_by_m": {str(m): v for m, v in val_strict.items()}}
    res["coldstart"] = {"new_items": len(cold.new_keys), "reachable": int(cold.ok.sum()),
                        "no_session_carts": no_session, "sessions_checked": cold.checked,
                        "gnn": os.path.relpath(args.gnn, ROOT)}
    res["seconds"] = round(time.time() - t0, 1)
    path = os.path.join(args.eval, "instacart-coldstart.json")
    with open(path, "w") as f:
        json.dump(res, f)
    log("wrote %s (%.0fs)" % (path, time.time() - t0))


if __name__ == "__main__":
    main()
