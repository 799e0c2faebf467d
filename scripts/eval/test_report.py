"""Unit tests of report.py's variant-encoder rows (no data needed):
  /usr/bin/python3 -m unittest discover -s scripts/eval -p 'test_*.py'
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402


def proto(cand, methods, n=40):
    return {"name": "fragment → product", "candidates": cand, "n": n, "metrics": ["R@10"],
            "methods": [{"method": m, "per_query": {"R@10": v}} for m, v in methods]}


class VariantTest(unittest.TestCase):
    def test_merge_and_diff(self):
        n = 40
        res = {"notes": "x", "protocols": [proto("full catalogue (10)", [("encoder", [0.0] * n), ("BM25", [0.5] * n)]),
                                           proto("held-out products only (4)", [("encoder", [1.0] * n)])]}
        extra = {"protocols": [proto("full catalogue (10)", [("encoder, hn", [1.0] * n)]),
                               proto("held-out products only (4)", [("encoder, hn", [0.0] * n)])]}
        merged = report.merge_query_variants(res, [extra])
        self.assertEqual([m["method"] for m in merged["protocols"][0]["methods"]], ["encoder", "BM25", "encoder, hn"])
        md = report.query_section(merged)
        self.assertIn("**encoder, hn minus encoder**", md)
        self.assertIn("Significantly better: fragment → product, full catalogue, R@10.", md)
        self.assertIn("Significantly worse: fragment → product, held-out products only, R@10.", md)
        # the variant is not a baseline of the encoder
        self.assertIn("vs BM25", md)
        self.assertNotIn("vs encoder, hn", md)

    def test_mismatch_is_refused(self):
        res = {"protocols": [proto("full catalogue (10)", [("encoder", [0.0] * 40)])]}
        extra = {"protocols": [proto("full catalogue (10)", [("encoder, hn", [0.0] * 39)], n=39)]}
        with self.assertRaises(SystemExit):
            report.merge_query_variants(res, [extra])


class A9Test(unittest.TestCase):
    def test_section(self):
        n = 40
        rows = [("hybrid", [1.0] * n), ("hybrid, A7 union", [0.5] * n), ("hybrid, full scan (A6)", [1.0] * n),
                ("encoder", [0.0] * n), ("BM25", [1.0] * n)]

        def half():
            p = proto("full catalogue (10)", rows)
            p.update(top10_equal=1.0, top10_equal_a7=0.5, union_size=300.0, union_size_a7=400.0)
            return [p]

        md = report.a9_section({"notes": "x", "protocols": half(), "validation": half()})
        self.assertIn("| fragment → product | full catalogue | R@10 | 1.0000 | 0.5000 | 1.0000 | 0.0000 | 1.0000 |", md)
        self.assertIn("1.0000 / 0.5000 | 300 / 400 |", md)
        self.assertIn("Test: point estimate not above the encoder or BM25: fragment → product, full catalogue, "
                      "R@10 vs BM25 (+0.0000).", md)
        self.assertIn("Validation half", md)


if __name__ == "__main__":
    unittest.main()
