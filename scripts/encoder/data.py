"""Catalogue loaders and training-query generation for the query encoder.

Item records are dicts: {"id": int, "name": str, "groups": [(kind, name), ...]} where groups are
the category levels used to build queries (Groceries: level2, level1; Instacart: aisle,
department).
"""

import csv
import os
import random

import numpy as np

from bert_tokenizer import basic_tokenize


def _read_labels(path):
    out = {}
    with open(path, encoding="utf-8", newline="") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line:
                continue
            parts = line.split("\t")
            out[parts[0]] = parts[1]
    return out


def load_groceries(root):
    """The 169 Groceries items, ids 0..168 = byte order of the distinct names of groceries.csv."""
    names = set()
    with open(os.path.join(root, "groceries.csv"), encoding="utf-8", newline="") as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                names.update(line.split(","))
    src = os.path.join(root, "arules_data_src")
    labels = _read_labels(os.path.join(src, "Groceries.labels"))  # id -> english name
    cat1 = _read_labels(os.path.join(src, "Groceries.cat1.labels"))
    cat2 = _read_labels(os.path.join(src, "Groceries.cat2.labels"))
    by_name = {name: lid for lid, name in labels.items()}
    items = []
    for i, name in enumerate(sorted(names, key=lambda s: s.encode("utf-8"))):
        lid = by_name[name]
        items.append(
            {
                "id": i,
                "name": name,
                "groups": [("level2", cat2[lid[:2]]), ("level1", cat1[lid[:1]])],
            }
        )
    if len(items) != 169:
        raise ValueError("expected 169 Groceries items, got %d" % len(items))
    return items


def load_instacart(root):
    """All 49,688 Instacart products (id = product_id) with aisle and department names."""

    def table(fn, key, val):
        with open(os.path.join(root, fn), encoding="utf-8", newline="") as f:
            return {r[key]: r[val] for r in csv.DictReader(f)}

    aisles = table("aisles.csv", "aisle_id", "aisle")
    depts = table("departments.csv", "department_id", "department")
    items = []
    with open(os.path.join(root, "products.csv"), encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            items.append(
                {
                    "id": int(r["product_id"]),
                    "name": r["product_name"],
                    "groups": [("aisle", aisles[r["aisle_id"]]), ("department", depts[r["department_id"]])],
                }
            )
    return items, sorted(aisles.values()), sorted(depts.values())


def vocab_texts(groceries_root, instacart_root):
    """Texts whose word pieces make up the shared vocabulary subset."""
    texts = []
    g = load_groceries(groceries_root)
    texts += [it["name"] for it in g]
    texts += sorted({name for it in g for _, name in it["groups"]})
    if instacart_root is not None:
        items, aisles, depts = load_instacart(instacart_root)
        texts += [it["name"] for it in items] + aisles + depts
    return texts


class QueryMaker:
    """Random training / evaluation queries for an item, with a relevance predicate.

    A query is (text, spec) where spec describes what it asks for, so that other items in a
    batch that equally satisfy it can be masked out of the in-batch negatives:
      ("frag", words)            item's word sequence contains `words` as a contiguous span
      ("group", kind, name)      item's group `kind` equals name
      ("group+frag", kind, name, words)
    """

    def __init__(self, items, weights):
        self.items = items
        self.words = [tuple(w for w in basic_tokenize(it["name"])) for it in items]
        self.wordsets = [set(w) for w in self.words]
        self.groups = [dict(it["groups"]) for it in items]
        self.weights = weights  # list of (kind, weight); kind in frag, name, <group kind>, <group kind>+frag

    def fragment(self, rng, idx, max_words=3):
        """A random 1..3 word contiguous span of the item's (original-case) name words."""
        raw = self.items[idx]["name"].split()
        if not raw:
            raw = [self.items[idx]["name"]]
        n = rng.randint(1, min(max_words, len(raw)))
        s = rng.randint(0, len(raw) - n)
        return " ".join(raw[s : s + n])

    def make(self, rng, idx):
        kinds, ws = zip(*self.weights)
        kind = rng.choices(kinds, ws)[0]
        it = self.items[idx]
        if kind == "name":
            return it["name"], ("frag", self.words[idx])
        if kind == "frag":
            t = self.fragment(rng, idx)
            return t, ("frag", tuple(basic_tokenize(t)))
        if kind.endswith("+frag"):
            g = kind[: -len("+frag")]
            t = self.fragment(rng, idx, 2)
            name = self.groups[idx][g]
            text = name + " " + t if rng.random() < 0.5 else t + " " + name
            return text, ("group+frag", g, name, tuple(basic_tokenize(t)))
        name = self.groups[idx][kind]
        return name, ("group", kind, name)

    def batch_mask(self, specs, batch):
        """bool matrix [len(specs), len(batch)]: True where batch item b (b != a) also satisfies spec a."""
        n = len(batch)
        out = np.zeros((len(specs), n), dtype=bool)
        by_word = {}
        for b, j in enumerate(batch):
            for w in self.wordsets[j]:
                by_word.setdefault(w, []).append(b)
        by_group = {}
        for b, j in enumerate(batch):
            for kind, name in self.groups[j].items():
                by_group.setdefault((kind, name), []).append(b)
        for a, spec in enumerate(specs):
            if spec[0] == "group":
                cand = by_group.get((spec[1], spec[2]), [])
            else:
                words = spec[1] if spec[0] == "frag" else spec[3]
                cand = by_word.get(words[0], []) if words else range(n)
            for b in cand:
                if b != a and self.relevant(spec, batch[b]):
                    out[a, b] = True
        return out

    def relevant(self, spec, j):
        if spec[0] == "frag":
            return (not spec[1] or spec[1][0] in self.wordsets[j]) and _contains(self.words[j], spec[1])
        if spec[0] == "group":
            return self.groups[j][spec[1]] == spec[2]
        return self.groups[j][spec[1]] == spec[2] and (not spec[3] or spec[3][0] in self.wordsets[j]) and _contains(self.words[j], spec[3])


def _contains(seq, sub):
    n = len(sub)
    if n == 0:
        return True
    for i in range(len(seq) - n + 1):
        if seq[i : i + n] == sub:
            return True
    return False


def split_holdout(n, frac, seed):
    """Seeded split of range(n) into (train_idx, heldout_idx)."""
    rng = random.Random(seed)
    idx = list(range(n))
    rng.shuffle(idx)
    k = int(round(n * frac))
    held = sorted(idx[:k])
    train = sorted(idx[k:])
    return train, held
