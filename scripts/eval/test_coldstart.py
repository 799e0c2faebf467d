"""Unit tests of the cold-start rule (docs/evaluation.md A13; no data needed)."""

import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coldstart as cs  # noqa: E402


class ColdStartTest(unittest.TestCase):
    def setUp(self):
        self.known = [
            cs.Item("whole milk", "dairy produce", "fresh products"),
            cs.Item("UHT-milk", "shelf-stable dairy", "fresh products"),
            cs.Item("butter", "dairy produce", "fresh products"),
            cs.Item("sugar", "baking supplies", "processed food"),
        ]
        self.vecs = np.array([[1, 0], [0, 1], [3, 3], [-1, -1]], dtype=np.float32)

    def test_tokens(self):
        self.assertEqual(cs.tokens("UHT-milk"), {"uht", "milk"})
        self.assertEqual(cs.tokens("Crème Fraîche 2%"), {"cr", "me", "fra", "che", "2"})
        self.assertEqual(cs.tokens(""), frozenset())

    def test_rungs(self):
        new = [
            cs.Item("oat milk", "dairy produce", "fresh products"),  # S1: whole milk only
            cs.Item("ghee", "dairy produce", "fresh products"),      # S2: the aisle
            cs.Item("kefir", "cultured", "fresh products"),          # S3: the department
            cs.Item("candles", "", ""),                               # unreachable
        ]
        v, ok = cs.cold_vectors(self.vecs, self.known, new)
        self.assertEqual(ok.tolist(), [True, True, True, False])
        np.testing.assert_array_equal(v[0], [1, 0])
        np.testing.assert_array_equal(v[1], [2, 1.5])
        np.testing.assert_array_equal(v[2], np.float32([4 / 3, 4 / 3]))
        np.testing.assert_array_equal(v[3], [0, 0])
        self.assertEqual(v.dtype, np.float32)

    def test_top_new(self):
        v = np.array([[1, 0], [0, 1], [1, 0]], dtype=np.float32)
        ok = np.array([True, True, True])
        self.assertEqual(cs.top_new([1, 0], v, ok, 2), [0, 2])  # tie: lower position first
        self.assertEqual(cs.top_new([1, 0], v, ok, 2, exclude={0}), [2, 1])
        self.assertEqual(cs.top_new([1, 0], v, ok, 0), [])


if __name__ == "__main__":
    unittest.main()
