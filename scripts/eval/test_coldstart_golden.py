"""The committed Go golden of the cold-start rule is what coldstart.py
computes now (recommend/testdata/coldstart_golden.json, written by
coldstart_golden.py; the Go test recommend.TestColdStartGolden reads it)."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coldstart_golden as golden  # noqa: E402


class ColdStartGoldenTest(unittest.TestCase):
    def test_committed_golden_is_fresh(self):
        with open(golden.OUT, encoding="utf-8") as f:
            committed = json.load(f)
        self.assertEqual(golden.build(), committed,
                         "rerun /usr/bin/python3 scripts/eval/coldstart_golden.py")


if __name__ == "__main__":
    unittest.main()
