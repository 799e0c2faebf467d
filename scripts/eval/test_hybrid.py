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


if __name__ == "__main__":
    unittest.main()
