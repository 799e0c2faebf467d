"""Tests of the hybrid's evaluation code: the grid's pruned counting equals
scoring whole matrices, and the classifier's query posterior."""

import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import intent as IN  # noqa: E402
import run_hybrid as RH  # noqa: E402
from run_query import single  # noqa: E402


class TestGridSingle(unittest.TestCase):
    def test_equals_whole_matrix(self):
        rng = np.random.default_rng(3)
        q, n = 40, 300
        cos = np.round(rng.uniform(-1, 1, (q, n)), 2)  # rounded: many ties
        lex = IN.lexical_normalised(np.where(rng.random((q, n)) < 0.2, np.round(rng.uniform(0, 5, (q, n)), 1), 0))
        I = np.round(rng.random((q, n)), 1)
        held = rng.choice(n, 60, replace=False)
        RH.IN_HELD = np.zeros(n, dtype=bool)
        RH.IN_HELD[held] = True
        pos = np.arange(q) % len(held)
        targets = held[pos]
        got = RH.grid_single(cos, lex, I, targets, RH.GRID["wl"], RH.GRID["wi"])
        for (wl, wi), res in got.items():
            s = IN.hybrid(cos, lex, I, wl, wi)
            for k, v in single(s, targets).items():
                np.testing.assert_allclose(res[("full", k)], v, rtol=0, atol=1e-12)
            for k, v in single(s[:, np.sort(held)], np.searchsorted(np.sort(held), targets)).items():
                np.testing.assert_allclose(res[("held", k)], v, rtol=0, atol=1e-12)


class TestIntent(unittest.TestCase):
    def test_posterior(self):
        nb = IN.NaiveBayesAisle(["greek yogurt", "vanilla yogurt", "whole milk", "skim milk", "milk chocolate"],
                                ["yogurt", "yogurt", "milk", "milk", "candy chocolate"])
        p = nb.query_posterior("Yogurt", False)
        self.assertAlmostEqual(p.sum(), 1.0)
        self.assertEqual(nb.aisles[int(np.argmax(p))], "yogurt")
        self.assertIsNone(nb.query_posterior("zzz !!", False))
        e = nb.query_posterior("candy,  Chocolate", True)
        self.assertEqual(e[nb.col["candy chocolate"]], 1.0)
        self.assertEqual(list(nb.predict(["chocolate milk"])), [nb.col["milk"]])


class TestUnion(unittest.TestCase):
    def test_top_aisles(self):
        self.assertEqual(IN.top_aisles(np.array([0.2, 0.5, 0.2999, 0.0001])), [1, 2, 0])
        self.assertEqual(IN.top_aisles(np.array([0.0005, 0.999, 0.0005])), [1])
        self.assertEqual(IN.top_aisles(np.array([0.25, 0.25, 0.25, 0.25])), [0, 1, 2, 3])

    def test_union(self):
        """A7: the union of the three lists; hard intent is the exact top c when the top aisles hold c items."""
        cos = np.array([0.9, 0.1, 0.8, 0.1, 0.0, 0.0])
        raw = np.array([0.0, 0.0, 0.0, 2.0, 2.0, 0.0])
        p = np.array([0.7, 0.3])
        item_aisle = np.array([1, 1, 1, 0, 0, 0])
        post = np.eye(2)[item_aisle]
        u = IN.union_candidates(cos, raw, p, "hard", item_aisle, post, 1)
        self.assertEqual(u.tolist(), [0, 3])  # cosine: 0; BM25: 3 (tie with 4, lower first); intent: 3
        u = IN.union_candidates(cos, raw, None, "soft", item_aisle, post, 2)
        self.assertEqual(u.tolist(), [0, 2, 3, 4])  # no intent list
        u = IN.union_candidates(cos, raw, p, "soft", item_aisle, post, 3, soft_loop=True)
        self.assertEqual(u.tolist(), [0, 1, 2, 3, 4, 5])

    def test_union_a9(self):
        """A9: the intent list's ties go to the larger cosine, then the lower position; A7 took positions."""
        cos = np.array([0.1, 0.3, 0.2, 0.3, 0.9, 0.0])
        raw = np.zeros(6)
        p = np.array([1.0, 0.0])  # a category query: every member of aisle 0 has I = 1
        item_aisle = np.array([0, 0, 0, 0, 1, 0])
        post = np.eye(2)[item_aisle]
        self.assertEqual(IN.union_candidates(cos, raw, p, "hard", item_aisle, post, 2, with_cos=False).tolist(), [0, 1])
        self.assertEqual(IN.union_candidates(cos, raw, p, "hard", item_aisle, post, 2, with_cos=False,
                                             tie=cos).tolist(), [1, 3])  # 0.3 and 0.3: positions 1, 3
        self.assertEqual(IN.union_candidates(cos, raw, p, "hard", item_aisle, post, 3, with_cos=False,
                                             tie=cos).tolist(), [1, 2, 3])
        # a larger I still comes first: aisle 1's item 4 when it carries P 0.6
        p2 = np.array([0.4, 0.6])
        self.assertEqual(IN.union_candidates(cos, raw, p2, "hard", item_aisle, post, 2, with_cos=False,
                                             tie=-cos).tolist(), [4, 5])


if __name__ == "__main__":
    unittest.main()
