"""Loaders and splits for the three cart/session datasets (see docs/models-gnn.md).

Each loader returns a Dataset with raw sessions as lists of item keys in order,
already split into train / val / test. Items are keyed by the dataset's own id
(Groceries: the 0..168 id of the byte-sorted name; Instacart: product_id;
Diginetica: item_id) and mapped to 0-based model indices by Vocab.
"""

import csv
import os
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field

SHARED = os.environ.get("AISLE_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
DATA = os.path.join(SHARED, "data")

MAX_CART_ITEMS = 50  # inputs keep their last 50 items (config max_cart_items)


@dataclass
class Dataset:
    name: str
    train: list  # list[list[key]] (train minus val: what the models fit on)
    val: list  # held out from train for early stopping / baseline tuning
    test: list
    names: dict  # key -> display name
    is_set: bool  # True: no real order (Groceries): random hold-out, random order
    exclude_cart: bool  # True: items already in the cart are never recommended
    fixed_vocab: list = field(default=None)  # Groceries: all 169 ids in id order
    groups: dict = field(default=None)  # key -> tuple of side-feature group ids (>= 1)
    notes: str = ""


def groceries_names(path=None):
    """The 169 distinct names of groceries.csv, sorted in plain byte order.
    Index in this list = Groceries item id (shared with the query encoder)."""
    path = path or os.path.join(DATA, "groceries", "groceries.csv")
    names = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            names.update(line.rstrip("\n").split(","))
    return sorted(names, key=lambda s: s.encode("utf-8"))


def load_groceries(seed=1):
    path = os.path.join(DATA, "groceries", "groceries.csv")
    names = groceries_names(path)
    ids = {n: i for i, n in enumerate(names)}
    baskets = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            baskets.append([ids[n] for n in line.rstrip("\n").split(",")])
    rng = random.Random(seed)
    order = list(range(len(baskets)))
    rng.shuffle(order)
    n_test = len(baskets) // 5
    test = [baskets[i] for i in order[:n_test]]
    rest = [baskets[i] for i in order[n_test:]]
    n_val = len(rest) // 10
    return Dataset("groceries", rest[n_val:], rest[:n_val], test,
                   {i: n for i, n in enumerate(names)}, is_set=True, exclude_cart=True,
                   fixed_vocab=list(range(len(names))),
                   notes="random 80/20 basket split (seed %d), val = 10%% of train" % seed)


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        yield from csv.DictReader(f)


def load_instacart(seed=1):
    base = os.path.join(DATA, "instacart")
    carts = defaultdict(list)
    for sub, fn in [("users_sample", "order_products__prior.csv"),
                    ("users_sample", "order_products__train.csv"),
                    ("orders_sample", "order_products__prior.csv")]:
        seen = set()
        rows = list(_read_csv(os.path.join(base, sub, fn)))
        for r in rows:
            oid = int(r["order_id"])
            if oid in carts and oid not in seen and sub == "orders_sample":
                continue  # the 2 orders present in both samples: keep one copy
            seen.add(oid)
            carts[oid].append((int(r["add_to_cart_order"]), int(r["product_id"])))
    names, groups = {}, {}
    for r in _read_csv(os.path.join(base, "products.csv")):
        names[int(r["product_id"])] = r["product_name"]
        groups[int(r["product_id"])] = (int(r["aisle_id"]), int(r["department_id"]))
    baskets = []
    for oid in sorted(carts):
        baskets.append([p for _, p in sorted(carts[oid])])
    rng = random.Random(seed)
    order = list(range(len(baskets)))
    rng.shuffle(order)
    n_test = len(baskets) // 5
    test = [baskets[i] for i in order[:n_test]]
    rest = [baskets[i] for i in order[n_test:]]
    n_val = len(rest) // 10
    return Dataset("instacart", rest[n_val:], rest[:n_val], test, names,
                   is_set=False, exclude_cart=True, groups=groups,
                   notes="%d carts (users_sample prior+train, orders_sample prior; 2 shared orders "
                         "deduplicated), random 80/20 cart split (seed %d): no absolute time" % (len(baskets), seed))


def load_diginetica():
    path = os.path.join(DATA, "diginetica-sample", "sample_train-item-views.csv")
    sess = defaultdict(list)
    date = {}
    with open(path, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f, delimiter=";"):
            sid = int(r["session_id"])
            sess[sid].append((int(r["timeframe"]), int(r["item_id"])))
            date[sid] = min(date.get(sid, r["eventdate"]), r["eventdate"])
    # Chronological: sessions ordered by date (then id); the last 20% are test,
    # the last 10% of the rest are val. Within a session sort by timeframe
    # (stable, so equal timeframes keep file order).
    sids = sorted(sess, key=lambda s: (date[s], s))
    seqs = [[i for _, i in sorted(sess[s], key=lambda x: x[0])] for s in sids]
    n_test = len(seqs) // 5
    train_all, test = seqs[:-n_test], seqs[-n_test:]
    n_val = len(train_all) // 10
    names = {}
    return Dataset("diginetica", train_all[:-n_val], train_all[-n_val:], test, names,
                   is_set=False, exclude_cart=False,
                   notes="chronological split by session date: test from %s, val from %s" % (
                       date[sids[-n_test]], date[sids[len(train_all) - n_val]]))


LOADERS = {"groceries": load_groceries, "instacart": load_instacart, "diginetica": load_diginetica}


class Vocab:
    """Maps dataset keys to 0-based model indices (rows of items.tsv)."""

    def __init__(self, keys):
        self.keys = list(keys)
        self.index = {k: i for i, k in enumerate(self.keys)}

    def __len__(self):
        return len(self.keys)

    @staticmethod
    def from_sessions(sessions):
        """Every key seen in the sessions, in order of decreasing count then key."""
        c = Counter(k for s in sessions for k in s)
        return Vocab(sorted(c, key=lambda k: (-c[k], k)))


def eval_cases(sessions, is_set, seed):
    """Hold-out cases (input keys, target key) for sessions with >= 2 items.

    Sets (Groceries): a random item is hidden and the rest come in a random order.
    Sequences: the last item is hidden and the rest keep their order.
    Inputs keep their last MAX_CART_ITEMS items.
    """
    rng = random.Random(seed)
    cases = []
    for s in sessions:
        if len(s) < 2:
            continue
        if is_set:
            s = list(s)
            rng.shuffle(s)
        cases.append((s[:-1][-MAX_CART_ITEMS:], s[-1]))
    return cases


def encode_cases(cases, vocab):
    """Maps keys to indices: unknown input items are dropped; an unknown target
    becomes -1 (a miss for every method)."""
    out = []
    for inp, tgt in cases:
        out.append(([vocab.index[k] for k in inp if k in vocab.index], vocab.index.get(tgt, -1)))
    return out


# DATA.md written next to each exported model (facts from ../shared/data/*/PROVENANCE.md).
DATA_MD = {
    "groceries": """# Data: Groceries market baskets

The model in this folder was trained by `scripts/gnn/train.py --dataset groceries` on the
"Groceries" transactions data set: one month (30 days) of real point-of-sale transactions from a
typical local grocery outlet, 9,835 transactions over 169 item categories (the data that ships as
`data(Groceries)` in the R package **arules**).

- Original data: Michael Hahsler, Kurt Hornik and Thomas Reutterer ("The data set is provided for
  arules by Michael Hahsler, Kurt Hornik and Thomas Reutterer"). Please cite:
  M. Hahsler, K. Hornik, T. Reutterer (2006), *Implications of probabilistic data modeling for
  mining association rules*. In: From Data and Information Analysis to Knowledge Engineering,
  Studies in Classification, Data Analysis, and Knowledge Organization, pp. 598-605, Springer.
- Licence: the arules package, which distributes the data, is **GPL-3**; beyond the citation
  request no separate licence for the data is stated. The copy used
  (`stedy/Machine-Learning-with-R-datasets` @ `ff933238d9c30da179b7e3ad4b6ca938d67efc53`,
  `groceries.csv`, 500,843 bytes, sha256
  `ff1be892fd6b9b57d1a7bc50de067798963dda607619645988b21789bf23ae3b`) is described by its repo
  owner as public domain, a claim without a LICENSE file. Treat the item names in `items.tsv` /
  `popular.tsv` and the weights derived from the data as GPL-3 material.
- Item ids: the 169 distinct item names of `groceries.csv` sorted in plain byte order, numbered
  0..168 (names kept verbatim, including the trailing space of `cream cheese ` and
  `roll products `). The query encoder uses the same rule, so ids agree across models.
- Caveats: there is no purchase order in the data (items follow category-id order), so training
  shuffles each basket (docs/models-gnn.md); items are categories, not SKUs; no users, no times.
- Split used for the shipped weights: a seeded random 80% of the baskets (train + validation);
  the other 20% is the test set of docs/models-gnn.md. `count` in items.tsv / popular.tsv is the
  number of those training baskets holding the item.
- `sessions.txt` (written by `scripts/eval/ensemble_golden.py`, read by the A11 ensemble's session
  kNN and co-occurrence): the training + validation baskets of that split as item ids, one a line;
  GPL-3 material like the rest of this folder.
""",
    "instacart": """# Data: Instacart carts (NOT for the repository)

Trained on the Instacart Online Grocery Shopping Dataset 2017 excerpts in
`../shared/data/instacart/` (users_sample + orders_sample, 4,185 carts with add_to_cart_order).
Instacart: "The dataset is provided as-is for non-commercial use". Keep this folder (build/,
git-ignored) out of the repository. Citation: "The Instacart Online Grocery Shopping Dataset 2017",
Accessed from https://www.instacart.com/datasets/grocery-shopping-2017. items.tsv ids are
product_id; see ../shared/data/instacart/PROVENANCE.md.
""",
    "diginetica": """# Data: Diginetica sample (NOT for the repository)

Trained on the DIGINETICA (CIKM Cup 2016 track 2) item-view sample shipped with the SR-GNN
reference code (`../shared/data/diginetica-sample/`, 2,986 sessions). Licence/terms: not stated;
research-use competition data. Keep this folder (build/, git-ignored) out of the repository.
items.tsv ids are the opaque item_id; names are the ids. See
../shared/data/diginetica-sample/PROVENANCE.md.
""",
}
