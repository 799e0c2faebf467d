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


if __name__ == "__main__":
    unittest.main()
