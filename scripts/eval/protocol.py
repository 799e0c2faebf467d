"""Cases of the cart / session next-item protocol (docs/evaluation.md, section 1).

Every model and baseline is evaluated on the cases built here, by metrics.py.
A case is (unit, input keys in add order, target key); `unit` is the resampling
unit of the bootstrap (Groceries: the basket; Instacart: the user; Diginetica:
the session).
"""

import os
import random
import sys
from collections import defaultdict
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "gnn"))
import data  # noqa: E402  (scripts/gnn/data.py: loaders shared with training)

SEED = 14  # the protocol seed (docs/evaluation.md)
MAX_CART_ITEMS = data.MAX_CART_ITEMS


@dataclass
class Split:
    name: str
    train: list  # sessions (lists of keys) the methods fit on while tuning (train minus val)
    val: list
    test: list
    exclude_cart: bool
    notes: str
    names: dict
    groups: dict = None
    fixed_vocab: list = None
    val_units: list = None  # unit id per val session (None: the index)
    test_units: list = None


def groceries_groups():
    """Groceries side features for the GNN (--side-features): key -> (level2, level1)
    category ids >= 1, from the catalogue models/query-encoder/items.tsv."""
    rows = []
    with open(os.path.join(HERE, "..", "..", "models", "query-encoder", "items.tsv"), encoding="utf-8") as f:
        next(f)
        for line in f:
            key, _, l2, l1 = line.rstrip("\n").split("\t")
            rows.append((int(key), l2, l1))
    ids = [{v: i + 1 for i, v in enumerate(sorted({r[c] for r in rows}))} for c in (1, 2)]
    return {k: (ids[0][l2], ids[1][l1]) for k, l2, l1 in rows}


def groceries():
    ds = data.load_groceries(seed=1)  # the split the shipped cart-gnn was trained on
    return Split("groceries", ds.train, ds.val, ds.test, True,
                 ds.notes + "; every item of each test basket hidden in turn (order: random.Random(14))",
                 ds.names, groups=groceries_groups(), fixed_vocab=ds.fixed_vocab)


def instacart():
    """User-disjoint split: 20% of users test, 10% validation, one case per
    test/val user (their last cart by order_number)."""
    base = os.path.join(data.DATA, "instacart")
    owner = {}
    for sub in ("users_sample", "orders_sample"):
        for r in data._read_csv(os.path.join(base, sub, "orders.csv")):
            owner[int(r["order_id"])] = (int(r["user_id"]), int(r["order_number"]))
    carts = defaultdict(list)
    for sub, fn in [("users_sample", "order_products__prior.csv"),
                    ("users_sample", "order_products__train.csv"),
                    ("orders_sample", "order_products__prior.csv")]:
        seen = set()
        for r in data._read_csv(os.path.join(base, sub, fn)):
            oid = int(r["order_id"])
            if oid in carts and oid not in seen and sub == "orders_sample":
                continue  # the 2 orders present in both samples: keep one copy
            seen.add(oid)
            carts[oid].append((int(r["add_to_cart_order"]), int(r["product_id"])))
    names, groups = {}, {}
    for r in data._read_csv(os.path.join(base, "products.csv")):
        names[int(r["product_id"])] = r["product_name"]
        groups[int(r["product_id"])] = (int(r["aisle_id"]), int(r["department_id"]))
    by_user = defaultdict(list)
    for oid in sorted(carts):
        u, num = owner[oid]
        by_user[u].append((num, oid, [p for _, p in sorted(carts[oid])]))
    users = sorted(by_user)
    random.Random(SEED).shuffle(users)
    n_test, n_val = len(users) // 5, len(users) // 10
    test_u, val_u, train_u = users[:n_test], users[n_test:n_test + n_val], users[n_test + n_val:]

    def last_cart(u):
        ok = [c for c in sorted(by_user[u]) if len(c[2]) >= 2]
        return ok[-1][2] if ok else None

    def one_per_user(us):
        sess, units = [], []
        for u in us:
            c = last_cart(u)
            if c is not None:
                sess.append(c)
                units.append(u)
        return sess, units

    train = [c for u in train_u for _, _, c in sorted(by_user[u])]
    val, val_units = one_per_user(val_u)
    test, test_units = one_per_user(test_u)
    return Split("instacart", train, val, test, True,
                 "%d carts of %d users; user-disjoint split (random.Random(14) over user ids): %d test users, "
                 "%d val users, %d train users (all their carts); one case per test user: the last cart, "
                 "last-added item hidden" % (len(carts), len(users), len(test_u), len(val_u), len(train_u)),
                 names, groups=groups, val_units=val_units, test_units=test_units)


def diginetica():
    ds = data.load_diginetica()
    return Split("diginetica", ds.train, ds.val, ds.test, False,
                 ds.notes + "; last view hidden; repeat targets reachable even when unseen in training",
                 ds.names)


SPLITS = {"groceries": groceries, "instacart": instacart, "diginetica": diginetica}


def cases(split, which):
    """[(unit, input keys, target key)] for split.val or split.test."""
    sessions = split.val if which == "val" else split.test
    units = split.val_units if which == "val" else split.test_units
    out = []
    if split.name == "groceries":
        rng = random.Random(SEED)
        for b, s in enumerate(sessions):
            if len(s) < 2:
                continue
            s = list(s)
            rng.shuffle(s)
            for j in range(len(s)):
                out.append((b, (s[:j] + s[j + 1:])[-MAX_CART_ITEMS:], s[j]))
        return out
    for b, s in enumerate(sessions):
        if len(s) < 2:
            continue
        out.append((units[b] if units else b, s[:-1][-MAX_CART_ITEMS:], s[-1]))
    return out
