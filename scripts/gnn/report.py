#!/usr/bin/python3
"""Collects build/gnn/<dataset>/results.json into build/gnn/results.md (the
evaluation table of docs/models-gnn.md)."""

import json
import os

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COLS = ["HR@10", "HR@20", "MRR@10", "MRR@20"]


def paired_bootstrap(results, n=2000, seed=1):
    """95% paired-bootstrap intervals (over test cases) of SR-GNN minus each
    baseline, for HR@20 and MRR@20."""
    rng = np.random.default_rng(seed)
    g = np.array(results[0]["ranks"])
    idx = rng.integers(0, len(g), size=(n, len(g)))

    def per_case(r):
        r = np.asarray(r)
        return (r > 0).astype(float), np.where(r > 0, 1.0 / np.maximum(r, 1), 0.0)

    gh, gm = per_case(g)
    parts = []
    for x in results[1:]:
        bh, bm = per_case(x["ranks"])
        cells = []
        for name, a, b in (("HR@20", gh, bh), ("MRR@20", gm, bm)):
            d = (a - b)[idx].mean(axis=1)
            lo, hi = np.percentile(d, [2.5, 97.5])
            cells.append("%s %+.4f [%+.4f, %+.4f]" % (name, (a - b).mean(), lo, hi))
        parts.append("| %s | %s |" % (x["method"], " | ".join(cells)))
    return ("SR-GNN minus baseline, mean over test cases with a 95%% paired-bootstrap interval "
            "(%d resamples):\n\n| baseline | HR@20 | MRR@20 |\n|---|---|---|\n" % n) + "\n".join(parts)


def main():
    lines = []
    for ds in ("groceries", "instacart", "diginetica"):
        p = os.path.join(ROOT, "build", "gnn", ds, "results.json")
        if not os.path.exists(p):
            continue
        r = json.load(open(p))
        sec = r["seconds"]
        lines.append("### %s\n" % ds)
        lines.append("%s; %d items, %d training sessions, %d test sessions -> %d test cases "
                     "(%d targets never seen in training: a miss for every method); "
                     "cart items excluded from the ranking: %s. GNN: best val epoch %d; "
                     "training %.0f s (early-stopping run) + %.0f s (refit), baselines %.0f s, "
                     "script total %.0f s.\n" % (
                         r["split"], r["n_items"], r["train_sessions"], r["test_sessions"], r["test_cases"],
                         r["test_targets_unseen"], "yes" if r["exclude_cart"] else "no", r["best_epoch"],
                         sec["gnn_early_stop"], sec["gnn_refit"], sec["baselines"], sec["total"]))
        best = {c: max(x["test"][c] for x in r["results"]) for c in COLS}
        lines.append("| method | " + " | ".join(COLS) + " | tuned on val |")
        lines.append("|---|" + "---:|" * len(COLS) + "---|")
        for x in r["results"]:
            cells = []
            for c in COLS:
                v = "%.4f" % x["test"][c]
                cells.append("**%s**" % v if x["test"][c] == best[c] else v)
            if x["method"] == "SR-GNN":
                q = x["params"]
                pr = "d=%d, step=%d, lr=%g, %s" % (q["dim"], q["step"], q["lr"],
                                                  "set-mode=" + q["set_mode"] if ds == "groceries" else "prefixes")
                for flag in ("side_features", "init_ppmi", "repeat"):
                    if q.get(flag):
                        pr += ", " + flag.replace("_", "-")
                if q.get("dropout"):
                    pr += ", dropout=%g" % q["dropout"]
            else:
                pr = ", ".join("%s=%s" % kv for kv in x["params"].items() if kv[0] != "min_support") or "-"
            lines.append("| %s | %s | %s |" % (x["method"], " | ".join(cells), pr))
        lines.append("")
        if "ranks" in r["results"][0]:
            lines.append(paired_bootstrap(r["results"]))
            lines.append("")
    out = os.path.join(ROOT, "build", "gnn", "results.md")
    with open(out, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))
    print("wrote %s" % out)


if __name__ == "__main__":
    main()
