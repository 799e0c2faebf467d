"""MODELS.md sections of docs/evaluation.md A10 (training-data preparation, from
build/eval/groceries-ablation.json, run_ablation.py), A11-A13's ensembles (from
build/eval/<dataset>-ensemble*.json, run_ensemble.py) and A13's cold start (from
build/eval/instacart-coldstart.json, run_coldstart.py). Called by report.py, which
owns the markers; every interval is metrics.Bootstrap's (1.3, basket, user or session as unit).
"""

import importlib.util
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import metrics  # noqa: E402


def _eval_report():
    """scripts/eval/report.py itself: scripts/gnn (on sys.path once gnn_method is imported) has a report.py too."""
    path = os.path.join(HERE, "report.py")
    for m in (sys.modules.get("__main__"), sys.modules.get("report")):
        if m is not None and os.path.abspath(getattr(m, "__file__", "") or "") == path:
            return m
    spec = importlib.util.spec_from_file_location("eval_report", path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


report = _eval_report()

REF = "shipped"  # A10's reference: the shipped setting, retrained (validation)


def ablation_section(res):
    vb, tb = metrics.Bootstrap(res["val_units"]), metrics.Bootstrap(res["units"])
    ship = metrics.per_case(res["shipped"]["test_ranks"])
    ran = {v["variant"]: v for v in res["variants"] if v["run"]}
    if REF not in ran:
        return "A10: the shipped setting was not trained, so nothing can be compared.\n"
    out = ["Validation: %d cases of train.py's early stopping (A4: one item hidden per validation basket, seed "
           "101; %d baskets), each variant's early-stopping model fitted on train minus validation. Test: %d cases "
           "of 1.1 (%d baskets), each variant refit on train + validation for its best epoch count and scored "
           "once. Differences: paired bootstrap 95%%, bold = the interval excludes 0. Validation differences are "
           "against the shipped setting retrained with the same seed, test differences against `%s` as committed "
           "(test HR@20 %s, MRR@20 %s)." % (
               res["val_cases"], vb.n_units, res["test_cases"], tb.n_units, res["shipped"]["model"],
               report.f4(ship["HR@20"].mean()), report.f4(ship["MRR@20"].mean())), ""]
    seed1 = [v for v in res["variants"] if not v["variant"].endswith("-seed2") or v["variant"] == REF + "-seed2"]
    seed2 = [v for v in res["variants"] if v["variant"].endswith("-seed2") and v["variant"] != REF + "-seed2"]
    md, dec1, tests = _ablation_table(seed1, ran[REF], vb, tb, ship)
    out += [md, ""]
    seed = ran.get(REF + "-seed2")
    if seed is not None:
        sv, st = metrics.per_case(seed["val_ranks"]), metrics.per_case(seed["test_ranks"])
        rv, refit = metrics.per_case(ran[REF]["val_ranks"]), metrics.per_case(ran[REF]["test_ranks"])
        d, x = vb.diff(sv["MRR@20"], rv["MRR@20"])
        td, tx = tb.diff(st["MRR@20"], refit["MRR@20"])
        out += ["Seed noise: the shipped setting with seed 2 minus seed 1 is %s on validation MRR@20 and %s on "
                "test MRR@20." % (report.dci(d, x), report.dci(td, tx)), ""]
    out += ["Better on validation (A10's decision): %s. Worse on validation: %s. No significant difference on "
            "validation: %s." % tuple(", ".join(dec1[k]) or "none" for k in ("better", "worse", "same")),
            "", "Test differences against the shipped model whose interval excludes 0 (reported, not used to "
            "choose): %s." % ("; ".join(tests) or "none"), ""]
    if seed is not None and any(v["run"] for v in seed2):
        md, dec2, _ = _ablation_table([seed] + seed2, seed, vb, tb, ship)
        agree = [n for k in ("better", "worse", "same") for n in dec1[k] if n in dec2[k]]
        out += ["Supplementary, seed 2 (A10; validation differences against the shipped setting with seed 2):", "",
                md, "", "Same validation verdict with seed 2 as with seed 1: %s." % (", ".join(agree) or "none"), ""]
    return "\n".join(out)


def _ablation_table(rows, ref, vb, tb, ship):
    """The markdown table of rows (variant results), validation differences against ref; returns it with the
    validation verdicts {better, worse, same} (variant names, seed suffix removed) and the significant test
    differences."""
    rv = metrics.per_case(ref["val_ranks"])
    out = ["| variant | changed from the shipped setting | epochs | val HR@20 | val MRR@20 | val MRR@20 − shipped "
           "setting | test HR@20 | test MRR@20 | test HR@20 − shipped | test MRR@20 − shipped |",
           "|---|---|---:|---:|---:|---|---:|---:|---|---|"]
    dec, tests = {"better": [], "worse": [], "same": []}, []
    for v in rows:
        if not v["run"]:
            out.append("| %s | %s | not run | | | | | | | |" % (v["variant"], v["changed"]))
            continue
        pv, pt = metrics.per_case(v["val_ranks"]), metrics.per_case(v["test_ranks"])
        d, x = vb.diff(pv["MRR@20"], rv["MRR@20"])
        is_ref = v["variant"] == ref["variant"]
        cells = [str(v["best_epoch"]), report.f4(pv["HR@20"].mean()), report.f4(pv["MRR@20"].mean()),
                 "—" if is_ref else report.dci(d, x), report.f4(pt["HR@20"].mean()), report.f4(pt["MRR@20"].mean())]
        for c in report.HEAD:
            td, tx = tb.diff(pt[c], ship[c])
            cells.append(report.dci(td, tx))
            if (tx[0] > 0 or tx[1] < 0) and not v["variant"].startswith(REF):
                tests.append("%s %s %s" % (v["variant"], c, report.sgn(td)))
        out.append("| %s | %s | %s |" % (v["variant"], v["changed"], " | ".join(cells)))
        if not is_ref and not v["variant"].startswith(REF):
            dec["better" if x[0] > 0 else "worse" if x[1] < 0 else "same"].append(v["variant"].replace("-seed2", ""))
    return "\n".join(out), dec, tests


def ensemble_section(res):
    val = res["validation"]
    ch = val["chosen"]
    comps = res["methods"][0]["params"]["components"]
    # A13's blend (run_ensemble.py --a13) gives carts with no known item the repeat rule, the "alone"
    # figures included: say so, they are not the A11 components' own figures.
    a13 = "(A13)" in res["methods"][0]["method"]
    out = ["Components: %s. Weights chosen on validation (%d cases of 1.1, components fitted on train minus "
           "validation): **%s**, validation MRR@20 %s (HR@20 %s); each component alone%s: %s." % (
               "; ".join(comps), val["val_cases"], " / ".join("%.1f" % w for w in ch["weights"]),
               report.f4(ch["val_MRR@20"]), report.f4(ch["val_HR@20"]),
               " (carts with no known item: the repeat rule)" if a13 else "",
               "; ".join("%s %s" % (c.split(" (")[0].split(" {")[0], report.f4(g["val_MRR@20"]))
                         for c, g in zip(comps, val["alone"]))), ""]
    plain = dict(res, methods=[m for m in res["methods"] if m["kind"] in ("model", "baseline")])
    body = report.cart_section(plain).split("\n", 2)[2]  # drop the dataset heading
    out.append(body.rstrip())
    ref = next((m for m in res["methods"] if m["kind"] == "reference"), None)
    if ref is not None:
        bs = metrics.Bootstrap(res["units"])
        e, s = metrics.per_case(res["methods"][0]["ranks"]), metrics.per_case(ref["ranks"])
        cells = []
        for c in report.HEAD:
            d, x = bs.diff(e[c], s[c])
            cells.append("%s %s" % (c, report.dci(d, x)))
        out += ["", "Ensemble minus %s (%s / %s): %s." % (
            ref["method"], report.f4(s["HR@20"].mean()), report.f4(s["MRR@20"].mean()), "; ".join(cells))]
    return "\n".join(out) + "\n"



COLD_SUBSETS = (("All test cases", None), ("Target unseen in training", True), ("Target seen in training", False))


def coldstart_section(res):
    """A13 on Instacart (build/eval/instacart-coldstart.json, run_coldstart.py): the validation choice of m,
    then the test rows on all cases and on the unseen- and seen-target cases, each with paired bootstrap
    intervals (1.3, user as unit) of the cold-start row minus the GNN and minus every baseline."""
    v, c = res["validation"], res["coldstart"]
    cold = res["methods"][0]
    gnn = next(m for m in res["methods"] if m["kind"] == "reference")
    base = [m for m in res["methods"] if m["kind"] == "baseline"]
    ranks_new = [r for r in v["unseen_new_ranks"] if r]
    strict = v.get("strict_by_m", {})
    out = ["New items: %d products of products.csv outside the training vocabulary (validation: %d), %d of them "
           "with a vector under A13's rule. Validation (%d cases, %d targets unseen in training; the GNN fitted on "
           "train minus validation, `model-fit.pt`), MRR@20 by m: %s; **chosen m = %d** (ties: the smaller m). "
           "On validation the unseen targets rank %g (median) among the new items by session score, best %d; %d "
           "of %d are in the top 5." % (
               c["new_items"], v["new_items"], c["reachable"], v["val_cases"], v["unseen_targets"],
               ", ".join("%s %s" % (m, report.f4(x["MRR@20"])) for m, x in v["by_m"].items()), v["chosen"],
               float(np.median(ranks_new)) if ranks_new else 0, min(ranks_new) if ranks_new else 0,
               sum(1 for r in ranks_new if r <= 5), len(v["unseen_new_ranks"]))]
    if strict:
        out[0] += (" With the cart's validation-only items also left out of the session (%d validation carts "
                   "hold some; the GNN itself reads them): %s." % (
                       v["carts_with_val_only_items"],
                       ", ".join("%s %s" % (m, report.f4(x["MRR@20"])) for m, x in strict.items())))
    ceiling = report.f4(1 - res["unreachable"] / res["test_cases"])
    if v["chosen"] == 0:
        row = "with m = 0 the cold-start row is the GNN's (ceiling %s)" % ceiling
    else:
        # not 1: a cart with no session embedding gets no new item, and a new item without a vector none
        row = "the cold-start row can show an unseen item only to a cart with a session embedding"
    out += ["", "Test, once (`%s/model.pt`, m = %d): %d cases; carts with no known item (%d) get popularity and no "
            "new item. Baselines and the GNN cannot show an unseen item (their ceiling is %s); %s." % (
                c["gnn"], v["chosen"], res["test_cases"], c["no_session_carts"], ceiling, row), ""]
    flags = np.array(res["unseen_target_flags"], dtype=bool)
    rows = [cold, gnn] + base
    for title, want in COLD_SUBSETS:
        sel = np.ones(len(flags), dtype=bool) if want is None else flags == want
        bs = metrics.Bootstrap([u for u, s in zip(res["units"], sel) if s])
        pc = {m["method"]: {k: x[sel] for k, x in metrics.per_case(m["ranks"]).items()} for m in rows}
        out += ["**%s** (%d):" % (title, int(sel.sum())), "",
                "| method | HR@10 | HR@20 [95% CI] | MRR@10 | MRR@20 [95% CI] | NDCG@10 | NDCG@20 | "
                "minus: HR@20 | MRR@20 |", "|---|---:|---:|---:|---:|---:|---:|---|---|"]
        wins = {k: True for k in report.HEAD}
        for m in rows:
            p, name = pc[m["method"]], m["method"]
            cells = []
            for k in ("HR@10", "HR@20", "MRR@10", "MRR@20", "NDCG@10", "NDCG@20"):
                cells.append(report.f4(p[k].mean()) + (" " + report.ci(bs.interval(p[k])) if k in report.HEAD else ""))
            if m is cold:
                cells += ["—", "—"]
            else:
                for k in report.HEAD:
                    d, x = bs.diff(pc[cold["method"]][k], p[k])
                    cells.append(report.dci(d, x))
                    if m["kind"] == "baseline":
                        wins[k] &= x[0] > 0
            if m is gnn:
                name += " (GNN)"
            out.append("| %s | %s |" % (name, " | ".join(cells)))
        out += ["", "The \"minus\" columns: %s minus that row (paired bootstrap, 95%%; bold = interval excludes 0). "
                "Beats every baseline with an interval excluding 0: %s." % (cold["method"], "; ".join(
                    "%s %s" % (k, "**yes**" if wins[k] else "no") for k in report.HEAD)), ""]
    return "\n".join(out)
