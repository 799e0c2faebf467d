"""Unit tests of A10/A11/A12/A13's code that need no data: the blend's normalised ranks and
weight grid, the training-sample flags' defaults, and report_prep's sections.
  /usr/bin/python3 -m unittest discover -s scripts/eval -p 'test_*.py'
"""

import importlib.util
import os
import random
import sys
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import methods  # noqa: E402
import report_prep  # noqa: E402
import run_ensemble  # noqa: E402


def _load_samples():
    """scripts/gnn/samples.py with scripts/gnn/data.py as its `data` (scripts/encoder has a data.py
    too, which another test may have imported under that name)."""
    gnn = os.path.join(HERE, "..", "gnn")
    mods = {}
    for name in ("data", "samples"):
        spec = importlib.util.spec_from_file_location(name, os.path.join(gnn, name + ".py"))
        mods[name] = importlib.util.module_from_spec(spec)
        saved = sys.modules.get("data")
        sys.modules["data"] = mods["data"]
        try:
            spec.loader.exec_module(mods[name])
        finally:
            if saved is None:
                del sys.modules["data"]
            else:
                sys.modules["data"] = saved
    return mods["samples"]


samples = _load_samples()


class BlendTest(unittest.TestCase):
    def test_norm_ranks(self):
        r = run_ensemble.norm_ranks([3.0, 1.0, 1.0, 2.0, -np.inf])
        self.assertEqual(r.tolist(), [1.0, 0.375, 0.375, 0.75, 0.0])

    def test_simplex(self):
        g = run_ensemble._simplex(3, 10)
        self.assertEqual(len(g), 66)
        self.assertTrue(all(abs(sum(w) - 1) < 1e-9 for w in g))
        self.assertEqual(g[0], (1.0, 0.0, 0.0))
        self.assertEqual([w for w in g if max(w) == 1.0], [(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)])

    def test_blend_ranks(self):
        vocab = methods.Vocab([0, 1, 2, 3], [[0, 1, 2, 3], [3]])
        a = lambda cart: np.array([4.0, 3.0, 2.0, 1.0])  # noqa: E731
        b = lambda cart: np.array([1.0, 2.0, 3.0, 4.0])  # noqa: E731
        cache = {}
        self.assertEqual(run_ensemble.Blend(vocab, [a, b], (1.0, 0.0), cache).recommend([9], 2), [3, 0])  # unknown
        self.assertEqual(run_ensemble.Blend(vocab, [a, b], (1.0, 0.0), cache).recommend([0], 2), [0, 1])
        self.assertEqual(run_ensemble.Blend(vocab, [a, b], (0.0, 1.0), cache).recommend([0], 2), [3, 2])
        # equal weights: every item ties; popularity (item 3) first
        self.assertEqual(run_ensemble.Blend(vocab, [a, b], (0.5, 0.5), cache).recommend([0], 1), [3])

    def test_repeat_scores_match_the_rule(self):
        vocab = methods.Vocab([0, 1, 2, 3], [[0, 1, 2, 3], [3], [3, 2]])
        rep = run_ensemble.RepeatScores(vocab)
        for cart in ([0], [1, 0], [0, 1, 0], [2, 9]):
            want = methods.RepeatRule(vocab).recommend(cart, 6)
            got = run_ensemble.Blend(vocab, [rep], (1.0,), {}, extras=True).recommend(cart, 6)
            self.assertEqual(got, want, cart)

    def test_extras_only_when_the_cart_is_kept(self):
        vocab = methods.Vocab([0, 1, 2, 3], [[0, 1, 2, 3], [3]])
        a = lambda cart: np.array([4.0, 3.0, 2.0, 1.0])  # noqa: E731
        # A12: an unseen cart item (9) is a candidate; a score-only component ranks it last
        self.assertEqual(run_ensemble.Blend(vocab, [a], (1.0,), {}, extras=True).recommend([0, 9], 5), [0, 1, 2, 3, 9])
        self.assertEqual(run_ensemble.Blend(vocab, [a], (1.0,), {}).recommend([0, 9], 5), [0, 1, 2, 3])
        rep = run_ensemble.RepeatScores(vocab)
        self.assertEqual(run_ensemble.Blend(vocab, [a, rep], (0.0, 1.0), {}, extras=True).recommend([0, 9], 3), [9, 0, 3])

    def test_a13_fallback_is_the_repeat_rule(self):
        vocab = methods.Vocab([0, 1, 2, 3], [[0, 1, 2, 3], [3]])
        a = lambda cart: np.array([4.0, 3.0, 2.0, 1.0])  # noqa: E731
        rule = methods.RepeatRule(vocab)
        # A12: a cart with no known item gets popularity; A13: its own items most recent first, then popularity
        self.assertEqual(run_ensemble.Blend(vocab, [a], (1.0,), {}, extras=True).recommend([8, 9], 3), [3, 0, 1])
        a13 = run_ensemble.Blend(vocab, [a], (1.0,), {}, extras=True, fallback=rule)
        self.assertEqual(a13.recommend([8, 9, 8], 3), [8, 9, 3])
        self.assertEqual(a13.recommend([0, 9], 3), [0, 1, 2])  # a known item: the blend, unchanged



class SamplesTest(unittest.TestCase):
    baskets = [[1, 2, 3], [4, 5], [6], [7, 8, 9, 10]]

    def test_modes(self):
        n = {m: len(samples.Sampler(self.baskets, True, m).epoch(random.Random(1))) for m in samples.SET_MODES}
        self.assertEqual(n, {"prefix": 6, "holdout": 9, "both": 15})
        self.assertEqual(len(samples.Sampler(self.baskets, True, "holdout", holdout_orders=1).epoch(random.Random(1))), 3)

    def test_orders(self):
        once = samples.Sampler(self.baskets, True, "both", "once")
        r = random.Random(1)
        self.assertIs(once.epoch(r), once.epoch(r))
        f = samples.Sampler(self.baskets, True, "prefix", "file").epoch(random.Random(1))
        self.assertEqual(f[:2], [([1], 2), ([1, 2], 3)])
        with self.assertRaises(ValueError):
            samples.Sampler(self.baskets, True, "both", "sorted")


def ranks(n, hit):
    return [1 if i < hit else 0 for i in range(n)]


class SectionTest(unittest.TestCase):
    def test_ablation(self):
        v = lambda name, vh, th, run=True: {"variant": name, "changed": name, "run": run, "best_epoch": 3,  # noqa
                                             "val_ranks": ranks(60, vh), "test_ranks": ranks(80, th)}
        res = {"val_cases": 60, "test_cases": 80, "val_units": list(range(60)), "units": list(range(80)),
               "shipped": {"model": "models/cart-gnn", "test_ranks": ranks(80, 40)},
               "variants": [v("shipped", 30, 40), v("better", 55, 70), v("worse", 5, 10), v("same", 30, 40),
                            {"variant": "late", "changed": "x", "run": False}, v("shipped-seed2", 31, 41)]}
        md = report_prep.ablation_section(res)
        self.assertIn("Better on validation (A10's decision): better. Worse on validation: worse. "
                      "No significant difference on validation: same.", md)
        self.assertIn("| late | x | not run |", md)
        self.assertIn("Seed noise", md)
        self.assertIn("better HR@20 +0.3750", md)
        self.assertNotIn("Supplementary", md)
        res["variants"] += [v("better-seed2", 50, 60), v("worse-seed2", 30, 40)]
        md = report_prep.ablation_section(res)
        self.assertIn("Supplementary, seed 2", md)
        self.assertIn("Same validation verdict with seed 2 as with seed 1: better.", md)
        # the decision is seed 1's alone
        self.assertIn("Better on validation (A10's decision): better. Worse on validation: worse.", md)

    def test_coldstart(self):
        n = 40
        cold = [1] * 10 + [0] * 10 + [2] * 20  # cases 0-9: unseen targets found by a new item
        gnn = [0] * 20 + [2] * 20
        res = {"test_cases": n, "unreachable": 20, "units": list(range(n)), "unseen_target_flags": [1] * 20 + [0] * 20,
               "methods": [{"method": "cold", "kind": "model", "ranks": cold},
                           {"method": "pop", "kind": "baseline", "ranks": [0] * 20 + [5] * 20},
                           {"method": "gnn", "kind": "reference", "ranks": gnn}],
               "validation": {"val_cases": 30, "unseen_targets": 5, "chosen": 1, "new_items": 7,
                              "by_m": {"0": {"MRR@20": 0.1}, "1": {"MRR@20": 0.2}}, "unseen_new_ranks": [1, 3, 0, 9, 2],
                              "carts_with_val_only_items": 4, "strict_by_m": {"0": {"MRR@20": 0.1}}},
               "coldstart": {"new_items": 6, "reachable": 5, "no_session_carts": 1, "gnn": "g"}}
        md = report_prep.coldstart_section(res)
        self.assertIn("**chosen m = 1**", md)
        self.assertIn("rank 2.5 (median) among the new items by session score, best 1; 3 of 5 are in the top 5", md)
        self.assertIn("**All test cases** (40):", md)
        self.assertIn("**Target unseen in training** (20):", md)
        self.assertIn("| gnn (GNN) | 0.5000 | 0.5000 [0.3500, 0.6500] | 0.2500 |", md)
        # unseen subset: the cold row minus the GNN and the baseline is its own hit rate, 10 of 20
        self.assertEqual(md.count("| **+0.5000 [+0.3000, +0.7000]**"), 4)
        self.assertEqual(md.count("Beats every baseline with an interval excluding 0: HR@20 **yes**"), 2)


if __name__ == "__main__":
    unittest.main()
