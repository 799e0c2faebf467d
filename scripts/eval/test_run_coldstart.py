"""Unit tests of run_coldstart.py (docs/evaluation.md A13 scored on Instacart; no data needed):
the list rule, the choice of m, and the method over a tiny random SR-GNN.
  /usr/bin/python3 -m unittest discover -s scripts/eval -p 'test_*.py'
"""

import importlib.util
import os
import sys
import unittest

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import coldstart as cs  # noqa: E402
import methods  # noqa: E402
import run_coldstart as rc  # noqa: E402


def _load_gnn_method():
    """gnn_method with scripts/gnn's model.py and graph.py as `model` and `graph` (scripts/encoder has
    a model.py too, which another test may have imported under that name)."""
    gnn = os.path.join(HERE, "..", "gnn")
    if gnn not in sys.path:
        sys.path.insert(0, gnn)
    mods = {}
    for name in ("graph", "model"):
        spec = importlib.util.spec_from_file_location(name, os.path.join(gnn, name + ".py"))
        mods[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mods[name])
    saved = {n: sys.modules.get(n) for n in mods}
    sys.modules.update(mods)
    try:
        spec = importlib.util.spec_from_file_location("gnn_method", os.path.join(HERE, "gnn_method.py"))
        gm = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(gm)
    finally:
        for n, m in saved.items():
            if m is None:
                del sys.modules[n]
            else:
                sys.modules[n] = m
    return gm, mods["model"]


class ListRuleTest(unittest.TestCase):
    known = list(range(100, 130))  # the GNN's ranking, best first

    def test_m0_is_the_ranking(self):
        self.assertEqual(rc.cold_list(self.known, [1, 2, 3], 0, cart=[100]), self.known[1:21])

    def test_last_places_go_to_new_items(self):
        got = rc.cold_list(self.known, [7, 8, 9], 2, cart=[101, 8])
        self.assertEqual(len(got), 20)
        self.assertEqual(got[:18], [100] + self.known[2:19])  # cart item 101 dropped
        self.assertEqual(got[18:], [7, 9])  # cart item 8 dropped

    def test_no_new_items_keep_the_known_places(self):
        self.assertEqual(rc.cold_list(self.known, [], 3), self.known[:20])
        self.assertEqual(rc.cold_list(self.known, [7, 8], 3, cart=[8]), self.known[:19] + [7])

    def test_pick_m_ties_to_smaller(self):
        self.assertEqual(rc.pick_m({0: 0.02, 1: 0.03, 2: 0.03, 3: 0.01, 5: 0.0}), 1)
        self.assertEqual(rc.pick_m({0: 0.02, 1: 0.02, 2: 0.01, 3: 0.01, 5: 0.02}), 0)

    def test_subsets(self):
        self.assertEqual(rc.subsets([1, 5, 2], {1: 0, 2: 1}).tolist(), [False, True, False])


class ColdStartMethodTest(unittest.TestCase):
    def setUp(self):
        gm, model = _load_gnn_method()
        torch.manual_seed(3)
        keys = [10, 11, 12, 13, 14]  # model order; 14 is in the model but not the evaluation vocabulary
        net = model.SRGNN(len(keys), d=4, groups=[[0, 1, 1, 2, 2, 1]])
        self.vocab = methods.Vocab.build([[10, 11], [12, 13, 10]])
        self.gnn = gm.GNN("g", net, keys, self.vocab)
        a, b = ("dairy", "fresh"), ("baking", "dry")
        self.cat = {10: cs.Item("whole milk", *a), 11: cs.Item("butter", *a), 12: cs.Item("sugar", *b),
                    13: cs.Item("flour", *b), 14: cs.Item("oat milk", *a), 20: cs.Item("cane sugar", *b),
                    21: cs.Item("candles", "", "")}
        self.net = net

    def test_new_items_and_vectors(self):
        c = rc.ColdStart(self.gnn, self.cat, 0)
        self.assertEqual(c.new_keys, [14, 20, 21])
        self.assertEqual(c.ok.tolist(), [True, True, False])
        with torch.no_grad():
            t = self.net.item_table()[1:].numpy()
        np.testing.assert_array_equal(c.vecs[0], t[0])  # oat milk: whole milk (S1), not its own model row
        np.testing.assert_array_equal(c.vecs[1], t[2])  # cane sugar: sugar (S1)

    def test_lists(self):
        carts = [[10], [12, 20], [99]]
        c = rc.ColdStart(self.gnn, self.cat, 0)
        c.prime(carts)
        for cart in carts:
            self.assertEqual(c.recommend(cart, 21), self.gnn.recommend(cart, 21))  # m = 0: the GNN
        got = c.with_m(1).recommend([12, 20], 21)
        known = [k for k in self.gnn.recommend([12, 20], 21) if k not in (12, 20)]
        self.assertEqual(got, known + [14])  # 20 is in the cart, 21 has no vector
        s = c.sessions[(self.gnn.mindex[10],)]
        self.assertEqual(c.with_m(2).recommend([10], 21)[-2:],
                         [[14, 20][j] for j in np.argsort(-(c.vecs[:2] @ s), kind="stable")])

    def test_no_session_keeps_the_known_places(self):
        # A cart with no known item has no session embedding, so no new item: its list is the GNN's
        # popularity cut at 20, not at 20 − m (a vocabulary of 25 items, so a cut at 18 would show).
        gm, _ = _load_gnn_method()
        vocab = methods.Vocab.build([[10, 11], [12, 13, 10]] + [[100 + i] for i in range(21)])
        gnn = gm.GNN("g", self.net, [10, 11, 12, 13, 14], vocab)
        c = rc.ColdStart(gnn, self.cat, 0)
        c.prime([[99]])
        got = c.with_m(2).recommend([99], 21)
        self.assertEqual(len(got), 20)
        self.assertEqual(got, vocab.popular(20))

    def test_new_rank(self):
        c = rc.ColdStart(self.gnn, self.cat, 0)
        c.prime([[10], [99]])
        first = c.with_m(1).recommend([10], 21)[-1]
        self.assertEqual(c.new_rank([10], first), 1)
        self.assertEqual(c.new_rank([10], 14 if first == 20 else 20), 2)
        self.assertEqual(c.new_rank([10, 20], 14), 1)  # cart items drop out (20 has no row: same session)
        self.assertEqual(c.new_rank([10], 21), 0)  # no vector
        self.assertEqual(c.new_rank([99], 14), 0)  # no session

    def test_score_check(self):
        c = rc.ColdStart(self.gnn, self.cat, 0)
        self.gnn.prime([[10]])
        self.gnn.cache[(self.gnn.mindex[10],)] = self.gnn.cache[(self.gnn.mindex[10],)] + 1.0
        with self.assertRaises(SystemExit):
            c.prime([[10]])


if __name__ == "__main__":
    unittest.main()
