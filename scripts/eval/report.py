#!/usr/bin/python3
"""Generates the quality tables of MODELS.md from build/eval/*.json (written by
run_cart.py and run_query.py) under the protocol of docs/evaluation.md.

  /usr/bin/python3 scripts/eval/report.py            # prints the tables
  /usr/bin/python3 scripts/eval/report.py --write    # replaces them in MODELS.md

The tables sit between `<!-- eval:cart -->` / `<!-- eval:query -->` /
`<!-- eval:hybrid -->` (build/eval/hybrid*.json, run_hybrid.py) / `<!-- eval:hybrid-a9 -->`
(build/eval/hybrid-a9.json, run_hybrid.py --a9) and `<!-- /eval -->` markers, and the Groceries
training-data ablation and ensemble (A10, A11: report_prep.py) between `<!-- eval:ablation -->` /
`<!-- eval:ensemble -->` and `<!-- /eval -->`, and A12's ensembles between
`<!-- eval:ensemble-instacart -->` / `<!-- eval:ensemble-diginetica -->` and `<!-- /eval -->`, A13's
(`<!-- eval:ensemble-diginetica-a13 -->`, `<!-- eval:coldstart-instacart -->`) likewise;
nothing else in MODELS.md is touched.
`--only ablation,ensemble` writes just those blocks (a checkout whose build/eval lacks some
datasets then leaves the other tables as they are). Variant encoders scored by
`run_query.py --encoder-only` (build/eval/queries-*.json) are merged into the query tables as
their own rows, with a table of their paired differences against the baseline encoder.
"""

import argparse
import json
import os
import re
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import metrics  # noqa: E402

TAGS = ("cart", "query", "hybrid-a9", "hybrid", "ablation", "ensemble", "ensemble-instacart", "ensemble-diginetica",
        "ensemble-diginetica-a13", "coldstart-instacart")

DATASETS = ["groceries", "instacart", "diginetica"]
HEAD = ["HR@20", "MRR@20"]  # with intervals; the primary metric is MRR@20


def f4(x):
    return "%.4f" % x


def sgn(x):
    return "%+.4f" % x


def ci(x):
    return "[%s, %s]" % (f4(x[0]), f4(x[1]))


def dci(m, x):
    sig = x[0] > 0 or x[1] < 0
    s = "%s [%s, %s]" % (sgn(m), sgn(x[0]), sgn(x[1]))
    return "**%s**" % s if sig else s


def params(p):
    keep = {k: v for k, v in p.items() if k in ("k", "cosine", "min_count", "min_conf", "model", "lr", "side_features",
                                                 "init_ppmi", "dropout", "repeat", "set_mode", "dim",
                                                 "explorer", "decay", "gate", "weights")}
    return ", ".join("%s=%s" % kv for kv in keep.items() if kv[1] not in (False, 0, 0.0, None) or kv[0] in ("cosine", "decay")) or "-"


def cart_section(res):
    bs = metrics.Bootstrap(res["units"])
    pc = {m["method"]: metrics.per_case(m["ranks"]) for m in res["methods"]}
    kinds = {m["method"]: m["kind"] for m in res["methods"]}
    base = [m for m in pc if kinds[m] == "baseline"]
    models = [m for m in pc if kinds[m] == "model"]
    n = res["test_cases"]
    out = ["#### %s" % res["dataset"].capitalize(), "",
           "%s. %d items, %d training sessions; %d test cases from %d resampling units; %d targets unreachable "
           "(ceiling %.4f); %d targets repeat an item of their input; cart items %s the ranking." % (
               res["notes"], res["n_items"], res["train_sessions"], n, bs.n_units, res["unreachable"],
               1 - res["unreachable"] / n, res["repeat_targets"],
               "excluded from" if res["exclude_cart"] else "kept in"), ""]
    cols = ["HR@10", "HR@20", "MRR@10", "MRR@20", "NDCG@10", "NDCG@20"]
    best = {c: max(base, key=lambda m: pc[m][c].mean()) for c in cols}
    top = {c: round(max(pc[m][c].mean() for m in pc), 4) for c in cols}  # bold every tie
    rep = res["dataset"] == "diginetica"
    hdr = "| method | " + " | ".join(c + (" [95% CI]" if c in HEAD else "") for c in cols) + \
          (" | HR@20 repeat / other targets" if rep else "") + " | tuned on val |"
    out += [hdr, "|---|" + "---:|" * len(cols) + ("---|" if rep else "") + "---|"]
    flags = np.array(res.get("repeat_target_flags", [0] * n), dtype=bool)
    for m in models + base:
        cells = []
        for c in cols:
            v = f4(pc[m][c].mean())
            if round(pc[m][c].mean(), 4) == top[c]:
                v = "**%s**" % v
            if c in HEAD:
                v += " " + ci(bs.interval(pc[m][c]))
            cells.append(v)
        if rep:
            h = pc[m]["HR@20"]
            cells.append("%s / %s" % (f4(h[flags].mean()) if flags.any() else "-", f4(h[~flags].mean())))
        row = next(x for x in res["methods"] if x["method"] == m)
        out.append("| %s | %s | %s |" % (m, " | ".join(cells), params(row["params"])))
    out.append("")
    for m in models:
        out += ["%s minus each baseline (paired bootstrap, 95%%; bold = interval excludes 0):" % m, "",
                "| baseline | HR@20 | MRR@20 |", "|---|---|---|"]
        wins = {c: True for c in HEAD}
        for b in base:
            cells = []
            for c in HEAD:
                d, x = bs.diff(pc[m][c], pc[b][c])
                wins[c] &= x[0] > 0
                cells.append(dci(d, x) + (" (best baseline)" if best[c] == b else ""))
            out.append("| %s | %s |" % (b, " | ".join(cells)))
        out += ["", "Beats every baseline with an interval excluding 0: %s." % "; ".join(
            "%s %s" % (c, "**yes**" if wins[c] else "no") for c in HEAD), ""]
    return "\n".join(out)


VARIANT = "encoder, "  # method-name prefix of a variant encoder (queries-*.json), compared with "encoder"


def merge_query_variants(res, extras):
    """Appends the method rows of variant-encoder runs (run_query.py --encoder-only) to the matching
    protocols of res, after checking that protocol, candidate set and query count agree."""
    for ex in extras:
        for q in ex["protocols"]:
            p = next((p for p in res["protocols"] if (p["name"], p["candidates"]) == (q["name"], q["candidates"])), None)
            if p is None or p["n"] != q["n"] or p["metrics"] != q["metrics"]:
                raise SystemExit("variant run does not match queries.json: %s, %s" % (q["name"], q["candidates"]))
            p["methods"] += q["methods"]
    return res


def variant_section(res):
    """The variant encoders against the baseline encoder on every protocol, candidate set and metric."""
    variants = sorted({m["method"] for p in res["protocols"] for m in p["methods"] if m["method"].startswith(VARIANT)})
    out = []
    for v in variants:
        out += ["**%s minus encoder** (paired bootstrap, 95%%; bold = interval excludes 0). The variant is "
                "scored alone by `run_query.py --encoder-only` on the same queries and candidates "
                "(build/eval/queries-*.json; docs/evaluation.md A8):" % v, "",
                "| protocol | candidates | metric | encoder | %s | difference [95%% CI] |" % v, "|---|---|---|---:|---:|---|"]
        better, worse, same = [], [], []
        for p in res["protocols"]:
            bs = metrics.Bootstrap(list(range(p["n"])))
            vals = {m["method"]: {k: np.asarray(x, dtype=np.float64) for k, x in m["per_query"].items()} for m in p["methods"]}
            if v not in vals:
                continue
            cand = p["candidates"].split(" (")[0]
            for c in p["metrics"]:
                d, x = bs.diff(vals[v][c], vals["encoder"][c])
                out.append("| %s | %s | %s | %s | %s | %s |" % (p["name"], cand, c, f4(vals["encoder"][c].mean()),
                                                                f4(vals[v][c].mean()), dci(d, x)))
                where = "%s, %s, %s" % (p["name"], cand, c)
                (better if x[0] > 0 else worse if x[1] < 0 else same).append(where)
        out += ["", "Significantly better: %s." % ("; ".join(better) or "none"),
                "", "Significantly worse: %s." % ("; ".join(worse) or "none"),
                "", "No significant difference: %s." % ("; ".join(same) or "none"), ""]
    return "\n".join(out)


def query_section(res):
    out = [res.get("notes", ""), ""]
    for p in res["protocols"]:
        bs = metrics.Bootstrap(list(range(p["n"])))
        names = [m["method"] for m in p["methods"]]
        vals = {m["method"]: {k: np.asarray(v, dtype=np.float64) for k, v in m["per_query"].items()} for m in p["methods"]}
        cols = p["metrics"]
        out += ["**%s**, candidates: %s, %d queries%s" % (p["name"], p["candidates"], p["n"],
                                                        (" (" + p["note"] + ")") if p.get("note") else ""), "",
                "| method | " + " | ".join(c + " [95% CI]" for c in cols) + " |", "|---|" + "---|" * len(cols)]
        top = {c: max(names, key=lambda m: vals[m][c].mean() if m != "oracle (ceiling)" else -1) for c in cols}
        for m in names:
            cells = []
            for c in cols:
                v = f4(vals[m][c].mean())
                cells.append(("**%s**" % v if top[c] == m else v) + " " + ci(bs.interval(vals[m][c])))
            out.append("| %s | %s |" % (m, " | ".join(cells)))
        base = [m for m in names if m not in ("encoder", "random", "oracle (ceiling)") and not m.startswith(VARIANT)]
        if "encoder" in names and base:
            cells = []
            for c in cols:
                b = max(base, key=lambda m: vals[m][c].mean())
                d, x = bs.diff(vals["encoder"][c], vals[b][c])
                cells.append("%s: %s vs %s" % (c, dci(d, x), b))
            out += ["", "Encoder minus best baseline: " + "; ".join(cells) + "."]
        out.append("")
    return "\n".join(out) + "\n" + variant_section(res)


def hybrid_section(res):
    """One row per protocol, candidate set and metric: the chosen hybrid, the encoder, BM25 and the classifier on
    the test queries of A5, and the paired differences of the hybrid minus each."""
    out = [res["notes"], ""]
    nb_names = ("naive-Bayes aisle classifier", "naive-Bayes aisle classifier + BM25(fragment)")
    out += ["| protocol | candidates | metric | hybrid | encoder | BM25 | classifier | hybrid − encoder | "
            "hybrid − BM25 | hybrid − classifier | validation: hybrid / encoder / BM25 |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    losses, ties = [], []
    for p in res["protocols"]:
        bs = metrics.Bootstrap(list(range(p["n"])))
        vals = {m["method"]: {k: np.asarray(v, dtype=np.float64) for k, v in m["per_query"].items()}
                for m in p["methods"]}
        nb = next((n for n in nb_names if n in vals), None)
        for c in p["metrics"]:
            h = vals["hybrid"][c]
            cells = [f4(h.mean())]
            for b in ("encoder", "BM25", nb):
                cells.append(f4(vals[b][c].mean()) if b else "—")
            for b in ("encoder", "BM25", nb):
                if b is None:
                    cells.append("—")
                    continue
                d, x = bs.diff(h, vals[b][c])
                cells.append(dci(d, x))
                where = "%s, %s, %s vs %s" % (p["name"], p["candidates"].split(" (")[0], c, b)
                if d <= 0:
                    losses.append("%s (%s)" % (where, sgn(d)))
                elif x[0] <= 0:
                    ties.append(where)
            v = p["validation"]
            cells.append("%s / %s / %s" % (f4(v["hybrid"][c]), f4(v["encoder"][c]), f4(v["BM25"][c])))
            out.append("| %s | %s | %s | %s |" % (p["name"], p["candidates"].split(" (")[0], c, " | ".join(cells)))
    out += ["", "Test queries: %d per product protocol, %d aisle queries; differences are paired bootstrap 95%% "
            "intervals (bold: the interval excludes 0)." % (res["protocols"][0]["n"], res["protocols"][-1]["n"]), ""]
    main = [x for x in losses if " vs encoder (" in x or " vs BM25 (" in x]
    out.append("Better point estimate than both the encoder and BM25 on every row: %s." % (
        "**yes**" if not main else "no, not on " + "; ".join(main)))
    out.append("")
    out.append("Point estimate not above a comparator: " + ("; ".join(losses) if losses else "none") + ".")
    out.append("")
    out.append("Better point estimate but the interval includes 0: " + ("; ".join(ties) if ties else "none") + ".")
    return "\n".join(out)


def a7_section(res):
    """A7 (the served hybrid): A6's blend on the three top-C lists' union, on the test queries, beside A6's full
    scan, the encoder and BM25 with paired bootstrap differences, and the share of queries whose top 10 is A6's."""
    out = [res["notes"], ""]
    out += ["| protocol | candidates | metric | A7 hybrid | A6 full scan | encoder | BM25 | A7 − encoder | A7 − BM25 | "
            "A7 − A6 | top-10 = full scan | mean union |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    losses = []
    for p in res["protocols"]:
        bs = metrics.Bootstrap(list(range(p["n"])))
        vals = {m["method"]: {k: np.asarray(v, dtype=np.float64) for k, v in m["per_query"].items()}
                for m in p["methods"]}
        for c in p["metrics"]:
            h = vals["hybrid"][c]
            cells = [f4(h.mean())] + [f4(vals[b][c].mean()) for b in ("hybrid, full scan (A6)", "encoder", "BM25")]
            for b in ("encoder", "BM25", "hybrid, full scan (A6)"):
                d, x = bs.diff(h, vals[b][c])
                cells.append(dci(d, x))
                if d <= 0 and b != "hybrid, full scan (A6)":
                    losses.append("%s, %s, %s vs %s (%s)" % (p["name"], p["candidates"].split(" (")[0], c, b, sgn(d)))
            cells += ["%.4f" % p["top10_equal"], "%.0f" % p["union_size"]]
            out.append("| %s | %s | %s | %s |" % (p["name"], p["candidates"].split(" (")[0], c, " | ".join(cells)))
    out += ["", "Test queries: %d per product protocol, %d aisle queries; differences are paired bootstrap 95%% "
            "intervals (bold: the interval excludes 0)." % (res["protocols"][0]["n"], res["protocols"][-1]["n"]), ""]
    out.append("Point estimate not above the encoder or BM25: " + ("; ".join(losses) if losses else "none") + ".")
    return "\n".join(out)


A9_ROWS = ("hybrid", "hybrid, A7 union", "hybrid, full scan (A6)", "encoder", "BM25")


def a9_table(protos, top10):
    """A9's rows on one half: values, paired differences of A9 minus encoder, BM25 and A6, and (test) the share of
    queries whose top 10 is the full scan's; returns the lines and the rows where A9 is not above a comparator."""
    out = ["| protocol | candidates | metric | A9 hybrid | A7 union | A6 full scan | encoder | BM25 | A9 − encoder | "
           "A9 − BM25 | A9 − A6 |" + (" top-10 = full scan, A9 / A7 | mean union, A9 / A7 |" if top10 else ""),
           "|---|---|---|---|---|---|---|---|---|---|---|" + ("---|---|" if top10 else "")]
    losses = []
    for p in protos:
        bs = metrics.Bootstrap(list(range(p["n"])))
        vals = {m["method"]: {k: np.asarray(v, dtype=np.float64) for k, v in m["per_query"].items()}
                for m in p["methods"]}
        cand = p["candidates"].split(" (")[0]
        for c in p["metrics"]:
            h = vals["hybrid"][c]
            cells = [f4(vals[m][c].mean()) for m in A9_ROWS]
            for b in ("encoder", "BM25", "hybrid, full scan (A6)"):
                d, x = bs.diff(h, vals[b][c])
                cells.append(dci(d, x))
                if d <= 0 and b != "hybrid, full scan (A6)":
                    losses.append("%s, %s, %s vs %s (%s)" % (p["name"], cand, c, b, sgn(d)))
            if top10:
                cells += ["%.4f / %.4f" % (p["top10_equal"], p["top10_equal_a7"]),
                          "%.0f / %.0f" % (p["union_size"], p["union_size_a7"])]
            out.append("| %s | %s | %s | %s |" % (p["name"], cand, c, " | ".join(cells)))
    return out, losses


def a9_section(res):
    """A9 (the served hybrid): A7's union with the intent list's ties broken by cosine, on the test half and then
    the validation half, beside A7's union, A6's full scan, the encoder and BM25."""
    out = [res["notes"], "", "Test half:", ""]
    rows, losses = a9_table(res["protocols"], True)
    out += rows + ["", "Test queries: %d per product protocol, %d aisle queries; differences are paired bootstrap "
                   "95%% intervals (bold: the interval excludes 0)." % (res["protocols"][0]["n"],
                                                                         res["protocols"][-1]["n"]), ""]
    out.append("Test: point estimate not above the encoder or BM25: " + ("; ".join(losses) or "none") + ".")
    rows, vlosses = a9_table(res["validation"], True)
    out += ["", "Validation half (%d product queries, %d aisle queries; the weights were chosen on it under A6, so "
            "it is not an independent check):" % (res["validation"][0]["n"], res["validation"][-1]["n"]), ""]
    out += rows + ["", "Validation: point estimate not above the encoder or BM25: " + ("; ".join(vlosses) or "none") + "."]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=os.path.join(ROOT, "build", "eval"))
    ap.add_argument("--write", action="store_true", help="replace the tables in MODELS.md")
    ap.add_argument("--only", default=",".join(TAGS), help="comma-separated blocks to print or write: " + ",".join(TAGS))
    args = ap.parse_args()
    only = set(args.only.split(","))
    if only - set(TAGS):
        raise SystemExit("--only: unknown blocks %s" % ",".join(sorted(only - set(TAGS))))
    import report_prep  # here: it imports this module

    extra = {}
    for tag, fn, section in (("ablation", "groceries-ablation.json", report_prep.ablation_section),
                             ("ensemble", "groceries-ensemble.json", report_prep.ensemble_section),
                             ("ensemble-instacart", "instacart-ensemble.json", report_prep.ensemble_section),
                             ("ensemble-diginetica", "diginetica-ensemble.json", report_prep.ensemble_section),
                             ("ensemble-diginetica-a13", "diginetica-ensemble-a13.json", report_prep.ensemble_section),
                             ("coldstart-instacart", "instacart-coldstart.json", report_prep.coldstart_section)):
        p = os.path.join(args.dir, fn)
        if os.path.exists(p):
            with open(p) as f:
                extra[tag] = section(json.load(f))
    cart = []
    for d in DATASETS:
        p = os.path.join(args.dir, d + ".json")
        if os.path.exists(p):
            with open(p) as f:
                cart.append(cart_section(json.load(f)))
    cart_md = "\n".join(cart)
    query_md = ""
    p = os.path.join(args.dir, "queries.json")
    if os.path.exists(p):
        with open(p) as f:
            res = json.load(f)
        extras = []
        for fn in sorted(os.listdir(args.dir)):
            if fn.startswith("queries-") and fn.endswith(".json"):
                with open(os.path.join(args.dir, fn)) as f:
                    extras.append(json.load(f))
        query_md = query_section(merge_query_variants(res, extras))
    a9_md = ""
    p = os.path.join(args.dir, "hybrid-a9.json")
    if os.path.exists(p):
        with open(p) as f:
            res = json.load(f)
        a9_md = ("**A9: the A6 blend on A7's union of three top-%d lists, the intent list's ties broken by cosine "
                 "(served)**\n\n" % res["C"]) + a9_section(res) + "\n\n"
    hybrid_md = ""
    p = os.path.join(args.dir, "hybrid-a7.json")
    if os.path.exists(p):
        with open(p) as f:
            hybrid_md += ("**A7: the A6 blend on the union of three top-%d candidate lists (served until A9)**\n\n"
                          % json.load(open(p))["C"]) + a7_section(json.load(f)) + "\n\n"
    for name, head in (("hybrid.json", "**A6: routed hybrid, every item scored (A7's weights)**"),
                       ("hybrid-a5.json", "**A5: one weight set for every query (pre-registered first)**")):
        p = os.path.join(args.dir, name)
        if os.path.exists(p):
            with open(p) as f:
                hybrid_md += head + "\n\n" + hybrid_section(json.load(f)) + "\n\n"
    blocks = {"cart": cart_md, "query": query_md, "hybrid-a9": a9_md, "hybrid": hybrid_md, **extra}
    blocks = {t: md for t, md in blocks.items() if t in only}
    if not args.write:
        print("\n".join(blocks.values()))
        return
    path = os.path.join(ROOT, "MODELS.md")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for tag, md in blocks.items():
        if not md:
            continue
        pat = re.compile(r"(<!-- eval:%s -->\n).*?(<!-- /eval -->)" % tag, re.S)
        if not pat.search(text):
            raise SystemExit("MODELS.md has no <!-- eval:%s --> ... <!-- /eval --> block" % tag)
        text = pat.sub(lambda m: m.group(1) + "<!-- generated by scripts/eval/report.py from build/eval/; "
                       "do not edit -->\n\n" + md.strip() + "\n\n" + m.group(2), text)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print("wrote", path)


if __name__ == "__main__":
    main()
