#!/usr/bin/python3
"""Hybrid search under amendment A5 of docs/evaluation.md: chooses the hybrid's
setting on the validation half of the held-out queries, then scores it once on
the test half beside the encoder, BM25, the naive-Bayes aisle classifier and
random, per query, for scripts/eval/report.py.

  AISLE_DATA=../shared/data /usr/bin/python3 scripts/eval/run_hybrid.py        # A5 -> build/eval/hybrid-a5.json
  AISLE_DATA=../shared/data /usr/bin/python3 scripts/eval/run_hybrid.py --a6   # A6 -> build/eval/hybrid.json
  AISLE_DATA=../shared/data /usr/bin/python3 scripts/eval/run_hybrid.py --a7   # A7 -> build/eval/hybrid-a7.json
  AISLE_DATA=../shared/data /usr/bin/python3 scripts/eval/run_hybrid.py --a9   # A9 -> build/eval/hybrid-a9.json

A5 is one weight set for every query; A6 routes a query equal to an aisle name
and every other query to weights of their own; A7 (the served hybrid) scores
A6's blend on the union of three top-C candidate lists only (A7_C, A6's
weights read from build/eval/hybrid.json), on the test half only; A9 (scripts/eval/hybrid_a9.py) is A7 with
the intent list's ties broken by cosine, on the test and then the validation half.

The encoder is build/encoder/instacart/model.pt (scripts/encoder/train.sh
--instacart); its catalogue and query embeddings are cached in
build/eval/hybrid-embeddings.npz (delete it after retraining).
"""

import itertools
import json
import os
import random
import sys
import time
from collections import defaultdict

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "encoder"))
import intent as IN  # noqa: E402
import model as M  # noqa: E402
import train_encoder as TE  # noqa: E402
from bert_tokenizer import BertTokenizer, load_vocab  # noqa: E402
from bm25 import BM25, terms  # noqa: E402
from data import QueryMaker, load_instacart, split_holdout  # noqa: E402
from evaluate import MultiTarget, _harmonic  # noqa: E402
from run_query import SEED, single  # noqa: E402

SPLIT_SEED = 20261129  # A5
CHUNK = 512
IN_HELD = None  # bool [n_items]: the held-out products (set by main)
GRID = {"wl": [0, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5], "wi": [0, 0.05, 0.1, 0.2, 0.3, 0.5, 1],
        "form": ["hard", "soft"], "exact": [False, True]}
GRID6 = {"wl": [0, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5], "wi": [0, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5],
         "form": ["hard", "soft"]}  # A6, per route


def split(n, seed=SPLIT_SEED):
    """A5: positions 0..n-1 shuffled; the first n // 2 are validation, the rest test."""
    pos = list(range(n))
    random.Random(seed).shuffle(pos)
    return sorted(pos[: n // 2]), sorted(pos[n // 2:])


def from_counts(g, e, n_cand, ks=(10,)):
    """run_query.single from g (candidates scoring above the target) and e (ties besides it)."""
    h = _harmonic(n_cand + 1)
    out = {"MRR": (h[g + 1 + e] - h[g]) / (e + 1)}
    for k in ks:
        out["R@%d" % k] = np.clip(k - g, 0, e + 1) / (e + 1)
    return out


def grid_single(cos, lex, I, targets, wls, wis):
    """Per-query R@10 and MRR of every (wl, wi) of the grid for one intent matrix, on the full catalogue and on
    the held-out candidates. Exact and equal to scoring the whole matrix: a candidate whose score cannot
    reach the target's under any weight of the grid (the bound below) is neither above it nor tied."""
    wl_max, wi_max = max(wls), max(wis)
    r = np.arange(len(targets))
    tc, tl, ti = cos[r, targets], lex[r, targets], I[r, targets]
    bound = (cos - tc[:, None]) + wl_max * np.maximum(lex - tl[:, None], 0) + wi_max * np.maximum(I - ti[:, None], 0)
    qi, di = np.nonzero(bound > -1e-9)  # the target itself is kept (bound 0): the ties subtract it
    pc, pl, pi = cos[qi, di], lex[qi, di], I[qi, di]
    held = IN_HELD[di]
    n = len(targets)
    out = {}
    for wl, wi in itertools.product(wls, wis):
        sd = IN.hybrid(pc, pl, pi, wl, wi)
        st = IN.hybrid(tc, tl, ti, wl, wi)[qi]
        gt, eq = sd > st, sd == st
        res = {}
        for cs, m, ncand in (("full", slice(None), cos.shape[1]), ("held", held, int(IN_HELD.sum()))):
            g = np.bincount(qi[m], weights=gt[m], minlength=n).astype(np.int64)
            e = np.bincount(qi[m], weights=eq[m], minlength=n).astype(np.int64) - 1
            for k, v in from_counts(g, e, ncand).items():
                res[(cs, k)] = v
        out[(wl, wi)] = res
    return out


def multi(s, rel_all, uniq_rel):
    """Per-query P@10, R@10, MRR of a [n_queries, n_cand] score matrix; uniq_rel[i] the aisle of query i."""
    pq = defaultdict(list)
    for qi, a in enumerate(uniq_rel):
        mt = MultiTarget(ks=(10,))
        mt.add(s[qi].astype(np.float64), rel_all == a)
        r = mt.result()
        pq["P@10"].append(r["precision@10"])
        pq["R@10"].append(r["recall@10"])
        pq["MRR"].append(r["mrr"])
    return {k: np.asarray(v) for k, v in pq.items()}


def main():
    t0 = time.time()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    data = os.environ.get("AISLE_DATA", os.path.join(ROOT, "..", "shared", "data"))
    build = os.path.join(ROOT, "build", "encoder", "instacart")
    items, _, _ = load_instacart(os.path.join(data, "instacart"))
    names = [it["name"] for it in items]
    aisle = [dict(it["groups"])["aisle"] for it in items]
    aisle_arr = np.asarray(aisle)
    train_idx, held = split_holdout(len(items), 0.10, SEED)
    held_arr = np.asarray(held)
    global IN_HELD
    IN_HELD = np.zeros(len(items), dtype=bool)
    IN_HELD[held_arr] = True
    # the protocol's queries, generated exactly as run_query.py does
    rng = random.Random(SEED + 7)
    qm = QueryMaker(items, [("frag", 1.0)])
    q1 = [aisle[i] for i in held]
    frag3 = [qm.fragment(rng, i) for i in held]
    frag2 = [qm.fragment(rng, i, 2) for i in held]
    q4 = [aisle[i] + " " + f for i, f in zip(held, frag2)]
    uniq = sorted(set(aisle[i] for i in held))

    cache = os.path.join(ROOT, "build", "eval", "hybrid-embeddings.npz")
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    if os.path.exists(cache):
        z = np.load(cache)
        cat, emb = z["cat"], {k: z[k] for k in ("q1", "frag3", "q4", "uniq")}
    else:
        tokens = load_vocab(os.path.join(build, "query-encoder-instacart", "vocab.txt"))
        tok = BertTokenizer(tokens)
        cfg = M.EncoderConfig(len(tokens), hidden=128, layers=2, heads=4, ffn=512, max_positions=64)
        enc = M.BertEncoder(cfg)
        enc.load_state_dict(torch.load(os.environ.get("ENCODER_PT", os.path.join(build, "model.pt"))))
        cat = TE.embed_texts(enc, tok, names, True)
        emb = {k: TE.embed_texts(enc, tok, v, True) for k, v in (("q1", q1), ("frag3", frag3), ("q4", q4),
                                                                   ("uniq", uniq))}
        np.savez(cache, cat=cat, **emb)
    print("embeddings (%.0fs)" % (time.time() - t0), flush=True)
    cat_t = torch.from_numpy(np.ascontiguousarray(cat))

    bm = BM25(names)
    nb = IN.NaiveBayesAisle([names[i] for i in train_idx], [aisle[i] for i in train_idx])
    item_aisle = nb.predict(names)
    item_post = np.exp(nb.logpost(names))
    post_train = nb.logpost(names)  # the baseline's log P(aisle | name)

    def nb_base(aisles):
        return np.stack([post_train[:, nb.col[a]] if a in nb.col else np.zeros(len(names)) for a in aisles])

    val, test = split(len(held))
    cval, ctest = split(len(uniq))
    if os.environ.get("HYBRID_SMOKE"):  # a quick end-to-end check of the code on a few queries
        val, test, cval, ctest = val[:64], test[:64], cval[:4], ctest[:4]
    # per protocol: (name, queries, embedding key, per-product?)
    protos = [("aisle → product", q1, "q1"), ("fragment → product", frag3, "frag3"),
              ("aisle + fragment → product", q4, "q4"), ("aisle → members (category intent)", uniq, "uniq")]

    def components(qs, key, pos, only=None):
        """cos, normalised BM25 and the four intent matrices of the queries at pos (float64)."""
        sub = [qs[i] for i in pos]
        cos = M._mkldnn_mm_t(torch.from_numpy(np.ascontiguousarray(emb[key][pos])), cat_t).numpy().astype(np.float64)
        raw = np.stack([bm.scores(q) for q in sub])
        lex = IN.lexical_normalised(raw)
        its = {}
        for form, exact in only if only else itertools.product(GRID["form"], GRID["exact"]):
            its[(form, exact)] = IN.intent_matrix(nb, sub, exact, form, item_aisle, item_post)
        return sub, cos, raw, lex, its

    def score_all(s, pname, pos):
        """{(cands, metric): per-query array} of a score matrix over the full catalogue."""
        out = {}
        if pname.startswith("aisle → members"):
            qa = [uniq[i] for i in pos]
            for cs, cand in (("held", held_arr), ("full", None)):
                m = multi(s if cand is None else s[:, cand], aisle_arr if cand is None else aisle_arr[cand], qa)
                out.update({(cs, k): v for k, v in m.items()})
            return out
        tgt = held_arr[pos]
        for k, v in single(s, tgt).items():
            out[("full", k)] = v
        for k, v in single(s[:, held_arr], np.asarray(pos)).items():
            out[("held", k)] = v
        return out

    if "--a6" in sys.argv:
        return run_a6(locals())
    if "--a7" in sys.argv:
        return run_a7(locals())
    if "--a9" in sys.argv:
        import hybrid_a9
        return hybrid_a9.run(dict(locals(), CHUNK=CHUNK))

    # ---- validation: the grid, in chunks of queries (a chunk's matrices are ~200 MB each) ----
    acc = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))  # cfg -> protocol -> (cands, metric) -> arrays
    base_acc = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for pname, qs, key in protos:
        allpos = cval if key == "uniq" else val
        # the exact switch changes only queries that are an aisle name: when none is, it is scored once
        variants = [(f, e) for f, e in itertools.product(GRID["form"], GRID["exact"])
                    if not e or any(nb.exact.get(" ".join(terms(qs[i]))) is not None for i in allpos)]
        for a in range(0, len(allpos), CHUNK):
            pos = allpos[a:a + CHUNK]
            sub, cos, raw, lex, its = components(qs, key, pos)
            for b, s in (("encoder", cos), ("BM25", raw)):
                for k, v in score_all(s, pname, pos).items():
                    base_acc[pname][b][k].append(v)
            for form, exact in variants:
                I = its[(form, exact)]
                if key == "uniq":
                    for wl, wi in itertools.product(GRID["wl"], GRID["wi"]):
                        for k, v in score_all(IN.hybrid(cos, lex, I, wl, wi), pname, pos).items():
                            acc[(form, exact, wl, wi)][pname][k].append(v)
                    continue
                for (wl, wi), got in grid_single(cos, lex, I, held_arr[pos], GRID["wl"], GRID["wi"]).items():
                    for k, v in got.items():
                        acc[(form, exact, wl, wi)][pname][k].append(v)
            del cos, raw, lex, its
        print("validation %s done (%.0fs)" % (pname, time.time() - t0), flush=True)
    val_res = {}
    for cfg in itertools.product(GRID["form"], GRID["exact"], GRID["wl"], GRID["wi"]):
        val_res[cfg] = {}
        for pname, _, _ in protos:
            src = acc[cfg][pname] if pname in acc[cfg] else acc[(cfg[0], False, cfg[2], cfg[3])][pname]
            val_res[cfg][pname] = {k: float(np.concatenate(v).mean()) for k, v in src.items()}
    base_val = {p: {b: {k: float(np.concatenate(v).mean()) for k, v in d.items()} for b, d in bs.items()}
                for p, bs in base_acc.items()}

    def margins(cfg):
        out = {}
        for pname, _, _ in protos:
            for (cs, met), v in val_res[cfg][pname].items():
                best = max(base_val[pname][b][(cs, met)] for b in ("encoder", "BM25"))
                out["%s | %s | %s" % (pname, cs, met)] = (v - best) / best
        return out

    ranked = sorted(val_res, key=lambda c: (min(margins(c).values()), np.mean(list(margins(c).values()))),
                    reverse=True)
    chosen = ranked[0]
    form, exact, wl, wi = chosen
    print("chosen", chosen, "min margin %.4f" % min(margins(chosen).values()), flush=True)

    # ---- test: the chosen setting once, beside the baselines ----
    out_protos = []
    full_label = "full catalogue ({:,})".format(len(names))
    held_label = "held-out products only ({:,})".format(len(held))
    for pname, qs, key in protos:
        allpos = ctest if key == "uniq" else test
        mets = ["P@10", "R@10", "MRR"] if key == "uniq" else ["R@10", "MRR"]
        per = defaultdict(lambda: defaultdict(list))  # method -> (cands, metric) -> arrays
        names_m = []
        for a in range(0, len(allpos), CHUNK):
            pos = allpos[a:a + CHUNK]
            sub, cos, raw, lex, its = components(qs, key, pos, only=[(form, exact)])
            methods = [("hybrid", lambda: IN.hybrid(cos, lex, its[(form, exact)], wl, wi)), ("encoder", lambda: cos),
                       ("BM25", lambda: raw)]
            if key in ("q1", "uniq"):
                qa = [aisle[held[i]] for i in pos] if key == "q1" else [uniq[i] for i in pos]
                methods.append(("naive-Bayes aisle classifier", lambda: nb_base(qa)))
            if key == "q4":
                methods.append(("naive-Bayes aisle classifier + BM25(fragment)", lambda: nb_base(
                    [aisle[held[i]] for i in pos]) + IN.lexical_normalised(np.stack([bm.scores(frag2[i]) for i in pos]))))
            methods.append(("random", lambda: np.zeros_like(cos)))
            names_m = [m for m, _ in methods]
            for m, fn in methods:
                for k, v in score_all(fn(), pname, pos).items():
                    per[m][k].append(v)
            del cos, raw, lex, its
        for cs, label in (("full", full_label), ("held", held_label)):
            out_protos.append({
                "name": pname, "candidates": label, "n": len(allpos), "metrics": mets,
                "methods": [{"method": m, "per_query": {k: np.concatenate(per[m][(cs, k)]).tolist() for k in mets}}
                            for m in names_m],
                "validation": {"hybrid": {k: val_res[chosen][pname][(cs, k)] for k in mets},
                               "encoder": {k: base_val[pname]["encoder"][(cs, k)] for k in mets},
                               "BM25": {k: base_val[pname]["BM25"][(cs, k)] for k in mets}}})
        print("test %s done (%.0fs)" % (pname, time.time() - t0), flush=True)
    top = [{"setting": {"form": c[0], "exact": c[1], "wl": c[2], "wi": c[3]},
            "min_margin": min(margins(c).values()), "mean_margin": float(np.mean(list(margins(c).values())))}
           for c in ranked[:10]]
    notes = ("Instacart catalogue, seeded 10%% product hold-out (random.Random(%d)); queries split by A5 "
             "(random.Random(%d)): %d validation / %d test product queries, %d / %d aisle queries. Hybrid = "
             "cos + %g · BM25 / query's best + %g · I, I = %s intent%s, chosen on validation among %d settings "
             "(smallest relative margin over encoder and BM25 %+.4f). Naive Bayes fitted on the %d training "
             "products. R@10 and MRR are exact expectations under a random order of tied scores."
             % (SEED, SPLIT_SEED, len(val), len(test), len(cval), len(ctest), wl, wi, form,
                ", exact aisle names" if exact else "", len(val_res), top[0]["min_margin"], len(train_idx)))
    res = {"notes": notes, "chosen": top[0], "top_validation": top, "protocols": out_protos,
           "validation_margins": margins(chosen)}
    out = os.environ.get("EVAL_HYBRID_OUT", os.path.join(ROOT, "build", "eval", "hybrid-a5.json"))
    with open(out, "w") as f:
        json.dump(res, f)
    print("wrote %s (%.0fs)" % (out, time.time() - t0))


def run_a6(env):
    """A6: the routed family. Category queries (their terms are an aisle name's) and text queries each get
    their own (form, wl, wi); the pair is chosen jointly on validation, then scored once on test."""
    t0 = env["t0"]
    protos, components, score_all, nb = env["protos"], env["components"], env["score_all"], env["nb"]
    held_arr, held, aisle, uniq, bm, frag2 = env["held_arr"], env["held"], env["aisle"], env["uniq"], env["bm"], env["frag2"]
    val, test, cval, ctest, nb_base = env["val"], env["test"], env["cval"], env["ctest"], env["nb_base"]
    names, train_idx = env["names"], env["train_idx"]
    settings = list(itertools.product(GRID6["form"], GRID6["wl"], GRID6["wi"]))

    def is_cat(qs):
        return np.array([nb.exact.get(" ".join(terms(q))) is not None for q in qs])

    per = {}  # (pname, cs, met) -> [n_settings, n_queries]
    cat_mask, base_val = {}, {}
    for pname, qs, key in protos:
        allpos = cval if key == "uniq" else val
        cat_mask[pname] = is_cat([qs[i] for i in allpos])
        acc = defaultdict(lambda: defaultdict(list))
        bacc = defaultdict(lambda: defaultdict(list))
        for a in range(0, len(allpos), CHUNK):
            pos = allpos[a:a + CHUNK]
            sub, cos, raw, lex, its = components(qs, key, pos, only=[("hard", True), ("soft", True)])
            for b, sc in (("encoder", cos), ("BM25", raw)):
                for k, v in score_all(sc, pname, pos).items():
                    bacc[b][k].append(v)
            for form in GRID6["form"]:
                I = its[(form, True)]
                if key == "uniq":
                    for wl, wi in itertools.product(GRID6["wl"], GRID6["wi"]):
                        for k, v in score_all(IN.hybrid(cos, lex, I, wl, wi), pname, pos).items():
                            acc[(form, wl, wi)][k].append(v)
                    continue
                for (wl, wi), got in grid_single(cos, lex, I, env["held_arr"][pos], GRID6["wl"], GRID6["wi"]).items():
                    for k, v in got.items():
                        acc[(form, wl, wi)][k].append(v)
            del cos, raw, lex, its
        base_val[pname] = {b: {k: float(np.concatenate(v).mean()) for k, v in d.items()} for b, d in bacc.items()}
        for k in acc[settings[0]]:
            per[(pname,) + k] = np.stack([np.concatenate(acc[st][k]) for st in settings])
        print("A6 validation %s done (%.0fs)" % (pname, time.time() - t0), flush=True)
    # joint choice: cell mean of (category setting c, text setting t) = (sum_c over category queries + sum_t over
    # text queries) / n
    n_s = len(settings)
    worst = np.full((n_s, n_s), np.inf)
    total = np.zeros((n_s, n_s))
    cells = sorted(per)
    for cell in cells:
        arr = per[cell]
        m = cat_mask[cell[0]]
        sc, st = arr[:, m].sum(axis=1), arr[:, ~m].sum(axis=1)
        mean = (sc[:, None] + st[None, :]) / arr.shape[1]
        best = max(base_val[cell[0]][b][cell[1:]] for b in ("encoder", "BM25"))
        marg = (mean - best) / best
        worst = np.minimum(worst, marg)
        total += marg
    order = np.lexsort((-(total / len(cells)).ravel(), -worst.ravel()))
    ci, ti = divmod(int(order[0]), n_s)
    chosen = {"category": dict(zip(("form", "wl", "wi"), settings[ci])), "text": dict(zip(("form", "wl", "wi"), settings[ti]))}
    margins = {}
    for cell in cells:
        arr, m = per[cell], cat_mask[cell[0]]
        v = (arr[ci, m].sum() + arr[ti, ~m].sum()) / arr.shape[1]
        best = max(base_val[cell[0]][b][cell[1:]] for b in ("encoder", "BM25"))
        margins[" | ".join(cell)] = float((v - best) / best)
    top = []
    for o in order[:10]:
        a, b = divmod(int(o), n_s)
        top.append({"category": settings[a], "text": settings[b], "min_margin": float(worst.ravel()[o]),
                    "mean_margin": float(total.ravel()[o] / len(cells))})
    print("A6 chosen", chosen, "min margin %.4f" % worst[ci, ti], flush=True)

    def val_mean(pname, cs, met):
        arr, m = per[(pname, cs, met)], cat_mask[pname]
        return float((arr[ci, m].sum() + arr[ti, ~m].sum()) / arr.shape[1])

    (fc, wlc, wic), (ft, wlt, wit) = settings[ci], settings[ti]
    out_protos = []
    full_label = "full catalogue ({:,})".format(len(names))
    held_label = "held-out products only ({:,})".format(len(held))
    for pname, qs, key in protos:
        allpos = ctest if key == "uniq" else test
        mets = ["P@10", "R@10", "MRR"] if key == "uniq" else ["R@10", "MRR"]
        res = defaultdict(lambda: defaultdict(list))
        names_m = []
        for a in range(0, len(allpos), CHUNK):
            pos = allpos[a:a + CHUNK]
            sub, cos, raw, lex, its = components(qs, key, pos, only=sorted({(fc, True), (ft, True)}))
            rc = is_cat(sub)[:, None]
            methods = [("hybrid", lambda: np.where(rc, IN.hybrid(cos, lex, its[(fc, True)], wlc, wic),
                                                   IN.hybrid(cos, lex, its[(ft, True)], wlt, wit))),
                       ("encoder", lambda: cos), ("BM25", lambda: raw)]
            if key in ("q1", "uniq"):
                qa = [aisle[held[i]] for i in pos] if key == "q1" else [uniq[i] for i in pos]
                methods.append(("naive-Bayes aisle classifier", lambda: nb_base(qa)))
            if key == "q4":
                methods.append(("naive-Bayes aisle classifier + BM25(fragment)", lambda: nb_base(
                    [aisle[held[i]] for i in pos]) + IN.lexical_normalised(np.stack([bm.scores(frag2[i]) for i in pos]))))
            methods.append(("random", lambda: np.zeros_like(cos)))
            names_m = [m for m, _ in methods]
            for m, fn in methods:
                for k, v in score_all(fn(), pname, pos).items():
                    res[m][k].append(v)
            del cos, raw, lex, its
        for cs, label in (("full", full_label), ("held", held_label)):
            out_protos.append({
                "name": pname, "candidates": label, "n": len(allpos), "metrics": mets,
                "methods": [{"method": m, "per_query": {k: np.concatenate(res[m][(cs, k)]).tolist() for k in mets}}
                            for m in names_m],
                "validation": {"hybrid": {k: val_mean(pname, cs, k) for k in mets},
                               "encoder": {k: base_val[pname]["encoder"][(cs, k)] for k in mets},
                               "BM25": {k: base_val[pname]["BM25"][(cs, k)] for k in mets}}})
        print("A6 test %s done (%.0fs)" % (pname, time.time() - t0), flush=True)
    notes = ("Instacart catalogue, seeded 10%% product hold-out (random.Random(%d)); queries split by A5 "
             "(random.Random(%d)): %d validation / %d test product queries, %d / %d aisle queries. Hybrid (A6, "
             "routed): a query equal to an aisle name scores cos + %g · BM25 / query's best + %g · I (%s); any other "
             "query cos + %g · BM25 / best + %g · I (%s); the pair chosen on validation among %d × %d (smallest "
             "relative margin over encoder and BM25 %+.4f). Naive Bayes fitted on the %d training products. R@10 "
             "and MRR are exact expectations under a random order of tied scores."
             % (SEED, SPLIT_SEED, len(val), len(test), len(cval), len(ctest), wlc, wic, fc, wlt, wit, ft, n_s, n_s,
                float(worst[ci, ti]), len(train_idx)))
    out = os.environ.get("EVAL_HYBRID_OUT", os.path.join(ROOT, "build", "eval", "hybrid.json"))
    with open(out, "w") as f:
        json.dump({"notes": notes, "chosen": chosen, "top_validation": top, "protocols": out_protos,
                   "validation_margins": margins}, f)
    print("wrote %s (%.0fs)" % (out, time.time() - t0))


A7_C = 200  # docs/evaluation.md A7: fixed a priori, not tuned


def run_a7(env):
    """A7: A6's chosen pair (build/eval/hybrid.json) scored on the union of three top-C lists only
    (intent.union_candidates), once on the test half, beside the encoder and BM25; and per protocol the fraction
    of test queries whose top 10 equals A6's full-scan top 10."""
    t0 = env["t0"]
    protos, components, score_all, nb = env["protos"], env["components"], env["score_all"], env["nb"]
    held, aisle, uniq, bm, frag2 = env["held"], env["aisle"], env["uniq"], env["bm"], env["frag2"]
    test, ctest, nb_base, names = env["test"], env["ctest"], env["nb_base"], env["names"]
    item_aisle, item_post = env["item_aisle"], env["item_post"]
    with open(os.path.join(ROOT, "build", "eval", "hybrid.json")) as f:
        a6 = json.load(f)
    ch = a6["chosen"]
    route = {r: (ch[r]["form"], ch[r]["wl"], ch[r]["wi"]) for r in ("category", "text")}
    c = int(os.environ.get("A7_C", A7_C))
    out_protos = []
    full_label = "full catalogue ({:,})".format(len(names))
    held_label = "held-out products only ({:,})".format(len(held))
    for pname, qs, key in protos:
        allpos = ctest if key == "uniq" else test
        mets = ["P@10", "R@10", "MRR"] if key == "uniq" else ["R@10", "MRR"]
        res = defaultdict(lambda: defaultdict(list))
        names_m, same, usizes = [], [], []
        for a in range(0, len(allpos), CHUNK):
            pos = allpos[a:a + CHUNK]
            sub, cos, raw, lex, its = components(qs, key, pos, only=sorted({(route["category"][0], True),
                                                                             (route["text"][0], True)}))
            full = np.empty_like(cos)
            union = np.full_like(cos, -1e9)  # outside the union: below every member, tied among themselves
            for i, q in enumerate(sub):
                r = "category" if nb.exact.get(" ".join(terms(q))) is not None else "text"
                form, wl, wi = route[r]
                full[i] = IN.hybrid(cos[i], lex[i], its[(form, True)][i], wl, wi)
                u = IN.union_candidates(cos[i], raw[i], nb.query_posterior(q, True), form, item_aisle, item_post, c)
                union[i, u] = full[i, u]
                usizes.append(len(u))
                same.append(bool(np.array_equal(np.argsort(-full[i], kind="stable")[:10],
                                                np.argsort(-union[i], kind="stable")[:10])))
            methods = [("hybrid", lambda: union), ("hybrid, full scan (A6)", lambda: full),
                       ("encoder", lambda: cos), ("BM25", lambda: raw)]
            if key in ("q1", "uniq"):
                qa = [aisle[held[i]] for i in pos] if key == "q1" else [uniq[i] for i in pos]
                methods.append(("naive-Bayes aisle classifier", lambda: nb_base(qa)))
            if key == "q4":
                methods.append(("naive-Bayes aisle classifier + BM25(fragment)", lambda: nb_base(
                    [aisle[held[i]] for i in pos]) + IN.lexical_normalised(np.stack([bm.scores(frag2[i]) for i in pos]))))
            names_m = [m for m, _ in methods]
            for m, fn in methods:
                for k, v in score_all(fn(), pname, pos).items():
                    res[m][k].append(v)
            del cos, raw, lex, its, full, union
        for cs, label in (("full", full_label), ("held", held_label)):
            out_protos.append({
                "name": pname, "candidates": label, "n": len(allpos), "metrics": mets,
                "methods": [{"method": m, "per_query": {k: np.concatenate(res[m][(cs, k)]).tolist() for k in mets}}
                            for m in names_m],
                "top10_equal": float(np.mean(same)), "union_size": float(np.mean(usizes))})
        print("A7 test %s done (%.0fs): top-10 equal %.4f, mean union %.0f" % (
            pname, time.time() - t0, np.mean(same), np.mean(usizes)), flush=True)
    notes = ("A7: A6's routed hybrid (%s) scored on the union of three top-%d lists only (cosine, BM25, intent over "
             "the query's aisles carrying >= %g of P(a | q)); items outside the union rank below it. Test half of "
             "A5's split only (%d product queries, %d aisle queries); weights not re-tuned. \"top-10 = full scan\" is "
             "the fraction of test queries (full catalogue) whose ordered top 10 equals A6's full-scan top 10."
             % ("; ".join("%s: %s, w_l %g, w_i %g" % ((r,) + route[r]) for r in ("text", "category")), c,
                IN.INTENT_MASS, len(test), len(ctest)))
    out = os.environ.get("EVAL_HYBRID_OUT", os.path.join(ROOT, "build", "eval", "hybrid-a7.json"))
    with open(out, "w") as f:
        json.dump({"notes": notes, "C": c, "chosen": ch, "protocols": out_protos}, f)
    print("wrote %s (%.0fs)" % (out, time.time() - t0))


if __name__ == "__main__":
    main()
