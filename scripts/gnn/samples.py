"""Training-data preparation for scripts/gnn/train.py: the (input, target) pairs of
one epoch and their mini-batches.

Every choice made here is a flag of train.py; the defaults are the shipped
Groceries settings (scripts/gnn/train.sh), and with them the random draws are
exactly those of the shipped training, so models/cart-gnn still rebuilds byte for
byte. docs/evaluation.md A10 ablates the choices on Groceries (MODELS.md,
"Training-data preparation").

The choices, for set data (Groceries, no real order) unless noted:
- set_mode: "prefix" = every prefix of an ordered basket -> its next item
  (SR-GNN's augmentation, also the only mode for sequences); "holdout" = per
  basket, `holdout_orders` random orders, each hiding its last item (exactly
  the evaluation case); "both" (shipped) = the two together.
- set_order: "epoch" (shipped) = a fresh random order of each basket for every
  sample group of every epoch; "once" = the samples of the first epoch are drawn
  once and reused by every epoch (static augmentation); "file" = no shuffle: the
  basket's order in groceries.csv (its category order), so every holdout sample
  of a basket is the same.
- holdout_orders: how many hide-last samples a basket gives per epoch (shipped 3).
- pool: mini-batches are cut from pools of `pool` batches sorted by input length
  (less padding, shipped 50); 1 = plain shuffled batches.
Fixed, with no alternative worth a run on Groceries: baskets of one item give no
sample (no target); inputs keep their last MAX_CART_ITEMS (50) items, which never
binds there (the largest basket has 32 items); baskets hold no duplicates; the
vocabulary is all 169 items (no minimum count).
"""

import data

SET_MODES = ("prefix", "holdout", "both")
SET_ORDERS = ("epoch", "once", "file")


class Sampler:
    """The samples of each epoch, drawn with the trainer's rng (the shipped
    sequence of draws with the default arguments)."""

    def __init__(self, sessions, is_set, set_mode="prefix", set_order="epoch", holdout_orders=3):
        if set_mode not in SET_MODES or set_order not in SET_ORDERS or holdout_orders < 1:
            raise ValueError("bad sampling options %r %r %r" % (set_mode, set_order, holdout_orders))
        self.sessions, self.is_set = sessions, is_set
        self.set_mode, self.set_order, self.holdout_orders = set_mode, set_order, holdout_orders
        self.cached = None

    def epoch(self, rng):
        if self.set_order == "once":
            if self.cached is None:
                self.cached = self._draw(rng)
            return self.cached
        return self._draw(rng)

    def _draw(self, rng):
        shuffle = rng.shuffle if self.set_order != "file" else (lambda s: None)
        return train_samples(self.sessions, self.is_set, shuffle, self.set_mode, self.holdout_orders)


def train_samples(sessions, is_set, shuffle, set_mode="prefix", holdout_orders=3):
    """(input, target) pairs for one epoch: every prefix -> next item (SR-GNN's
    augmentation). Sets (Groceries) get a fresh order per basket from shuffle;
    set_mode "holdout" instead takes, per basket, holdout_orders orders and hides
    the last item of each (exactly the evaluation case), "both" does both."""
    out = []
    for s in sessions:
        if len(s) < 2:
            continue
        if is_set:
            s = list(s)
            if set_mode in ("holdout", "both"):
                for _ in range(holdout_orders):
                    shuffle(s)
                    out.append((s[:-1][-data.MAX_CART_ITEMS:], s[-1]))
                if set_mode == "holdout":
                    continue
            shuffle(s)
        for t in range(1, len(s)):
            out.append((s[:t][-data.MAX_CART_ITEMS:], s[t]))
    return out


def batches(samples, size, rng, pool=50):
    """Shuffled mini-batches of similar cart length (less padding): shuffle, sort
    each pool of `pool` batches by length, cut, shuffle the batch order. pool 1
    gives plain shuffled batches (the sort inside one batch changes nothing)."""
    samples = list(samples)
    rng.shuffle(samples)
    out = []
    for i in range(0, len(samples), size * pool):
        part = sorted(samples[i : i + size * pool], key=lambda s: len(s[0]))
        out += [part[j : j + size] for j in range(0, len(part), size)]
    rng.shuffle(out)
    return out
