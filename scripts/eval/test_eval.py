"""Unit tests of the shared evaluation code (no data needed):
  /usr/bin/python3 -m unittest discover -s scripts/eval -p 'test_*.py'
"""

import math
import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import methods  # noqa: E402
import metrics  # noqa: E402
import repeat_explore  # noqa: E402


class Fixed:
    def __init__(self, ranking):
        self.ranking = ranking

    def recommend(self, cart, n):
        return self.ranking[:n]


class MetricsTest(unittest.TestCase):
    def test_per_case(self):
        m = metrics.per_case([1, 2, 11, 0, 20])
        self.assertEqual(m["HR@10"].tolist(), [1, 1, 0, 0, 0])
        self.assertEqual(m["HR@20"].tolist(), [1, 1, 1, 0, 1])
        self.assertAlmostEqual(m["MRR@20"][2], 1 / 11)
        self.assertEqual(m["MRR@10"][2], 0)
        self.assertAlmostEqual(m["NDCG@20"][1], 1 / math.log2(3))

    def test_ranks_excludes_cart(self):
        cases = [(0, ["a"], "b"), (1, ["b"], "c"), (2, [], "z")]
        r = metrics.ranks(Fixed(["a", "b", "c"]), cases, exclude_cart=True)
        self.assertEqual(r.tolist(), [1, 2, 0])
        r = metrics.ranks(Fixed(["a", "b", "c"]), cases, exclude_cart=False)
        self.assertEqual(r.tolist(), [2, 3, 0])

    def test_bootstrap_paired(self):
        units = [0, 0, 1, 2, 2, 2, 3]
        bs = metrics.Bootstrap(units, b=500)
        a = np.array([1, 0, 1, 1, 0, 1, 0], dtype=float)
        d, x = bs.diff(a, a)
        self.assertEqual((d, x), (0.0, [0.0, 0.0]))
        lo, hi = bs.interval(a)
        self.assertTrue(0 <= lo <= a.mean() <= hi <= 1)
        # cluster resampling: the resampled mean is a ratio of unit sums
        self.assertEqual(bs.n_units, 4)
        np.testing.assert_allclose(bs.den, bs.w @ np.array([2, 1, 3, 1]))


class MethodsTest(unittest.TestCase):
    def test_repeat_rule(self):
        v = methods.Vocab.build([["p", "q"], ["p"]])
        r = methods.RepeatRule(v).recommend(["x", "q", "x"], 4)
        self.assertEqual(r, ["x", "q", "p"])

    def test_vocab_ties_by_popularity(self):
        v = methods.Vocab.build([["p", "q"], ["q"]])
        self.assertEqual(v.keys, ["q", "p"])
        self.assertEqual(v.top(np.zeros(2), 2), ["q", "p"])
        self.assertEqual(v.top(np.array([0.0, 1.0]), 2), ["p", "q"])

    def test_sequential_knn_prefers_recent(self):
        train = [[0, 2], [1, 3]]
        s = methods.SequentialKNN(train, 4, k=10)([0, 1])
        self.assertGreater(s[3], s[2])  # item 1 is the more recent


class RepeatExploreTest(unittest.TestCase):
    def test_gate_counts_repeat_steps(self):
        g = repeat_explore.repeat_gate([["a", "b", "a"], ["a", "c"]])
        # prefix length 1: 0 of 2 next items repeat; length 2: 1 of 1 (add-one smoothed)
        self.assertAlmostEqual(g[1], 1 / 4)
        self.assertAlmostEqual(g[2], 2 / 3)

    def test_reshows_items_unseen_in_training(self):
        sessions = [["p", "q"], ["p", "r"], ["q"]]
        v = methods.Vocab.build(sessions)
        explorer = lambda idx: np.ones(len(v.keys))  # noqa: E731
        m = repeat_explore.RepeatExplore(v, sessions, explorer, decay=0.5, gate=0.9)
        r = m.recommend(["new", "p"], 4)
        # repeat mass first, most recent first with decay > 0, then the explored items
        self.assertEqual(r[:2], ["p", "new"])
        self.assertEqual(sorted(r[2:]), ["q", "r"])
        p, extra = m.scores(["new", "p"])
        self.assertAlmostEqual(p.sum() + sum(extra.values()), 1.0)

    def test_gate_zero_is_the_explorer(self):
        sessions = [["p", "q"], ["q", "r"]]
        v = methods.Vocab.build(sessions)
        explorer = lambda idx: np.array([0.0, 2.0, 1.0])  # noqa: E731
        m = repeat_explore.RepeatExplore(v, sessions, explorer, decay=0.0, gate=0.0)
        self.assertEqual(m.recommend(["q"], 3)[:2], [v.keys[1], v.keys[2]])


if __name__ == "__main__":
    unittest.main()
