#!/usr/bin/python3
"""Trains, exports and evaluates aisle's query encoder (a small BERT-architecture two-tower retriever).

  /usr/bin/python3 scripts/encoder/train_encoder.py --dataset groceries --eval   # the committed default model
  /usr/bin/python3 scripts/encoder/train_encoder.py --dataset instacart --eval   # build/encoder/instacart/

Both towers share one encoder; text embedding = mean of last_hidden_state over the attention mask,
L2-normalised. Loss: symmetric in-batch InfoNCE (temperature 0.05) between a product name and a
query derived from it (name fragment, category/aisle name, category + fragment); other in-batch
products that satisfy the same query are masked out of the negatives.
--hard-negatives same-aisle composes each batch of groups of AISLE_GROUP products sharing an aisle
(docs/evaluation.md amendment A8), so most in-batch negatives of a query are products of its
positive's own aisle. See docs/models-encoder.md.
"""

import argparse
import json
import os
import random
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
REPO = os.path.dirname(os.path.dirname(HERE))

import model as M  # noqa: E402
from bert_tokenizer import BertTokenizer, build_subset_vocab, load_vocab  # noqa: E402
from bm25 import BM25  # noqa: E402
from data import QueryMaker, load_groceries, load_instacart, split_holdout, vocab_texts  # noqa: E402
from evaluate import MultiTarget, SingleTarget  # noqa: E402
from hard_cases import GOLDEN_QUERIES, HARD_CASES  # noqa: E402

MAX_SEQ_LEN = 32
TEMPERATURE = 0.05
# --hard-negatives same-aisle: products per aisle group in a batch (256 = 32 groups of 8). Fixed a
# priori in amendment A8 of docs/evaluation.md, not tuned on any split.
AISLE_GROUP = 8

PRESETS = {
    # Query mixes: (kind, weight). "frag" = 1-3 word span of the name, "name" = full name,
    # a group kind = that category's name, "<group>+frag" = category name + 1-2 word span.
    "groceries": dict(
        steps=1000, batch=64, lr=1e-3, warmup=100,
        mix=[("frag", 0.35), ("name", 0.10), ("level2", 0.25), ("level1", 0.10), ("level2+frag", 0.20)],
    ),
    "instacart": dict(
        steps=500, batch=256, lr=1e-3, warmup=50,
        mix=[("frag", 0.40), ("name", 0.05), ("aisle", 0.25), ("department", 0.05), ("aisle+frag", 0.25)],
    ),
}


def log(*a):
    print(*a, flush=True)


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# ---------------------------------------------------------------- batching / embedding


def pad_batch(seqs):
    n = max(len(s) for s in seqs)
    ids = np.zeros((len(seqs), n), dtype=np.int64)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = s
    ids = torch.from_numpy(ids)
    mask = torch.from_numpy((np.arange(n)[None, :] < np.array([len(s) for s in seqs])[:, None]).astype(np.int64))
    return ids, mask


def encode_pooled(model, seqs, chunk=64):
    """Pooled, normalised embeddings of token-id sequences, in length-sorted chunks (less padding)."""
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    embs = []
    for a in range(0, len(order), chunk):
        ids, mask = pad_batch([seqs[i] for i in order[a : a + chunk]])
        embs.append(M.mean_pool(model(ids, mask, torch.zeros_like(ids)), mask))
    inv = torch.empty(len(order), dtype=torch.long)
    inv[torch.tensor(order)] = torch.arange(len(order))
    return torch.cat(embs).index_select(0, inv)


@torch.no_grad()
def embed_texts(model, tok, texts, fast, chunk=256):
    model.eval()
    M.FAST_LINEAR["on"] = fast
    seqs = [tok.encode(t, MAX_SEQ_LEN) for t in texts]
    embs = encode_pooled(model, seqs, chunk)
    M.FAST_LINEAR["on"] = False
    return embs.numpy().astype(np.float32)


# ---------------------------------------------------------------- training


class AisleBatches:
    """Batches of groups of `group` training products sharing an aisle (amendment A8).

    Anchors are taken in a shuffled order of the training products (every product is an anchor
    once per pass, as in the plain batching); each anchor brings group - 1 other training
    products of its aisle drawn uniformly without replacement (fewer when the aisle is small),
    none already in the batch. The batch is cut at `bsz`.
    """

    def __init__(self, items, train_idx, gkind, group, rng):
        self.rng, self.group = rng, group
        self.gkind = gkind
        self.group_of = {i: dict(items[i]["groups"])[gkind] for i in train_idx}
        self.members = {}
        for i in train_idx:
            self.members.setdefault(self.group_of[i], []).append(i)
        self.pool, self.pos = list(train_idx), len(train_idx)

    def next(self, bsz):
        batch, seen = [], set()
        while len(batch) < bsz:
            if self.pos >= len(self.pool):
                self.rng.shuffle(self.pool)
                self.pos = 0
            a = self.pool[self.pos]
            self.pos += 1
            if a in seen:
                continue
            mem = self.members[self.group_of[a]]
            others = [j for j in self.rng.sample(mem, min(len(mem), self.group + 4)) if j != a and j not in seen]
            grp = [a] + others[: self.group - 1]
            batch += grp
            seen.update(grp)
        return batch[:bsz]


def train(model, tok, items, train_idx, preset, seed, label, hard_negatives=None):
    qm = QueryMaker(items, preset["mix"])
    rng = random.Random(seed + 1)
    aisle_batches = None
    if hard_negatives == "same-aisle":
        aisle_batches = AisleBatches(items, train_idx, items[0]["groups"][0][0], AISLE_GROUP, rng)
    name_ids = [tok.encode(it["name"], MAX_SEQ_LEN) for it in items]
    steps, bsz = preset["steps"], preset["batch"]
    opt = torch.optim.AdamW(model.parameters(), lr=preset["lr"], weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / preset["warmup"]) * max(0.0, (steps - s) / steps)
    )
    model.train()
    M.FAST_LINEAR["on"] = True
    pool, pos = list(train_idx), len(train_idx)
    t0, c0, run_loss = time.time(), time.process_time(), 0.0
    for step in range(steps):
        if aisle_batches is not None:
            batch = aisle_batches.next(bsz)
        else:
            if pos + bsz > len(pool):
                rng.shuffle(pool)
                pos = 0
            batch = pool[pos : pos + bsz]
            pos += bsz
        queries = [qm.make(rng, i) for i in batch]
        q_ids = [tok.encode(q[0], MAX_SEQ_LEN) for q in queries]
        neg_mask = torch.from_numpy(qm.batch_mask([q[1] for q in queries], batch))
        qe = encode_pooled(model, q_ids)
        pe = encode_pooled(model, [name_ids[i] for i in batch])
        logits = (qe @ pe.t()) / TEMPERATURE
        logits = logits.masked_fill(neg_mask, float("-inf"))
        target = torch.arange(len(batch))
        loss = 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        run_loss += loss.item()
        if (step + 1) % 100 == 0 or step + 1 == steps:
            log("[%s] step %d/%d loss %.4f (%.0fs wall, %.0fs cpu)" % (label, step + 1, steps, run_loss / 100, time.time() - t0, time.process_time() - c0))
            run_loss = 0.0
    M.FAST_LINEAR["on"] = False
    model.eval()
    return time.time() - t0, time.process_time() - c0


# ---------------------------------------------------------------- export


def export_onnx(model, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    model.eval()
    M.FAST_LINEAR["on"] = False
    ids = torch.tensor([[2, 10, 11, 3], [2, 12, 3, 0]], dtype=torch.long)
    mask = (ids != 0).long()
    tt = torch.zeros_like(ids)
    torch.onnx.export(
        model,
        (ids, mask, tt),
        path,
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["last_hidden_state"],
        dynamic_axes={
            "input_ids": {0: "batch", 1: "seq"},
            "attention_mask": {0: "batch", 1: "seq"},
            "token_type_ids": {0: "batch", 1: "seq"},
            "last_hidden_state": {0: "batch", 1: "seq"},
        },
        opset_version=14,
        do_constant_folding=True,
    )
    import onnx

    m = onnx.load(path)
    onnx.checker.check_model(m)
    ins = [(i.name, i.type.tensor_type.elem_type, [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]) for i in m.graph.input]
    outs = [(o.name, o.type.tensor_type.elem_type, [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim]) for o in m.graph.output]
    log("onnx.checker ok: %s inputs %s outputs %s opset %d" % (path, ins, outs, m.opset_import[0].version))


@torch.no_grad()
def check_padding(model, tok, texts):
    """Padded batch == single items at the non-padded positions (torch, plain F.linear)."""
    model.eval()
    seqs = [tok.encode(t, MAX_SEQ_LEN) for t in texts]
    ids, mask = pad_batch(seqs)
    batch = model(ids, mask, torch.zeros_like(ids))
    worst = 0.0
    for i, s in enumerate(seqs):
        one = torch.tensor([s])
        single = model(one, torch.ones_like(one), torch.zeros_like(one))[0]
        worst = max(worst, (batch[i, : len(s)] - single).abs().max().item())
    log("padding check (torch): %d texts, max |padded - single| = %.3g" % (len(texts), worst))
    if worst > 1e-5:
        raise AssertionError("padded batch differs from single items by %g" % worst)


def write_items(prefix, rows, embs, header):
    """<prefix>.tsv (id, name, extra columns) and <prefix>.f32 (AISLEEMB, N, D, float32 LE)."""
    with open(prefix + ".tsv", "w", encoding="utf-8", newline="\n") as f:
        f.write("\t".join(header) + "\n")
        for r in rows:
            f.write("\t".join(str(x) for x in r) + "\n")
    e = np.ascontiguousarray(embs, dtype="<f4")
    with open(prefix + ".f32", "wb") as f:
        f.write(b"AISLEEMB" + struct.pack("<II", e.shape[0], e.shape[1]))
        f.write(e.tobytes())


CONFIG_YAML = """\
max_batch_size: 64
inputs:
  - {{name: input_ids, data_type: INT64, dims: [-1], ragged: true, pad_value: 0}}
  - {{name: attention_mask, data_type: INT64, dims: [-1], ragged: true, pad_value: 0}}
  - {{name: token_type_ids, data_type: INT64, dims: [-1], ragged: true, pad_value: 0}}
outputs:
  - {{name: last_hidden_state, data_type: FP32, dims: [-1, {hidden}], ragged: true}}
dynamic_batching:
  max_queue_delay_microseconds: 500
  default_queue_policy: {{max_queue_size: 1024}}
instance_group: [{{count: 1, kind: KIND_CPU}}]
parameters:
  tokenizer: tokenizer.json
  max_seq_len: "{max_seq_len}"
  pooling: mean
  normalize: "true"
  output: last_hidden_state
  items: items
"""

DATA_NOTE = """\
# Data behind `models/query-encoder` (generated by scripts/encoder/train_encoder.py)

- **Item catalogue and training data: the Groceries data set** (arules, Hahsler/Hornik/Reutterer).
  `items.tsv` holds its 169 item names with their level2/level1 category names, and the model
  in `1/model.onnx` was trained only on queries derived from those names and categories. The
  arules package that distributes the data is **GPL-3**; no separate data licence is stated and
  the authors ask for the citation below. Treat these files as derived from GPL-3 material.
- **Vocabulary** (`vocab.txt`, the vocab inside `tokenizer.json`): a subset of Google's
  bert-base-uncased WordPiece vocabulary (Apache-2.0). The subset was chosen as the word
  pieces that occur in Groceries and Instacart product/aisle/department names plus every
  single-character piece. It is a list of BERT tokens, not a catalogue: no Instacart product
  name, id or aisle assignment is stored anywhere in this folder. (Instacart's terms are
  non-commercial; its catalogue must not be committed.)

The provenance note of the Groceries data follows, verbatim.

---

"""


def write_config(out, hidden):
    with open(os.path.join(out, "config.yaml"), "w", encoding="utf-8") as f:
        f.write(CONFIG_YAML.format(hidden=hidden, max_seq_len=MAX_SEQ_LEN))


# ---------------------------------------------------------------- evaluation


def rank_single(label, score_fn, queries, targets, n_cand, chunk=256):
    acc = SingleTarget(n_cand)
    for a in range(0, len(queries), chunk):
        acc.add(score_fn(queries[a : a + chunk]), np.asarray(targets[a : a + chunk]))
    return acc.result()


def rrf_scores(lists, depth, k=60.0):
    """Fused scores sum(1 / (k + rank)) over rankings; lists holds ([q, N] scores, matching_only)."""
    out = np.zeros(lists[0][0].shape, dtype=np.float64)
    for s, matching_only in lists:
        for r in range(s.shape[0]):
            row = s[r]
            srt = np.sort(row)[::-1]
            rank = np.searchsorted(-srt, -row, side="left") + 1  # competition rank: ties share the best
            keep = row > 0 if matching_only else np.ones(len(row), dtype=bool)
            if depth is not None:
                keep &= rank <= depth
            out[r] += np.where(keep, 1.0 / (k + rank), 0.0)
    return out


def evaluate(model, tok, items, held, seed, fast):
    """All protocols, for the encoder, BM25 and random. Returns {protocol: {method: metrics}}."""
    rng = random.Random(seed + 7)
    names = [it["name"] for it in items]
    gkind = items[0]["groups"][0][0]  # aisle (Instacart) or level2 (Groceries)
    groups = [dict(it["groups"])[gkind] for it in items]
    qm = QueryMaker(items, [("frag", 1.0)])

    t0 = time.time()
    cat = embed_texts(model, tok, names, fast)
    log("eval: embedded %d catalogue names in %.0fs" % (len(names), time.time() - t0))
    bm = BM25(names)
    rnd = np.random.default_rng(seed + 11)

    cat_t = torch.from_numpy(cat)

    def enc_scores(qs):
        q = torch.from_numpy(embed_texts(model, tok, qs, fast))
        return M._mkldnn_mm_t(q, cat_t).numpy()

    def bm_scores(qs):
        return np.stack([bm.scores(q) for q in qs])

    def rnd_scores(qs):
        return rnd.random((len(qs), len(names)), dtype=np.float32)

    def hybrid(depth):
        # Reciprocal rank fusion (k = 60) of the encoder's and BM25's rankings, as fusion.RRF
        # serves it: BM25 ranks only the names sharing a term (score > 0), and each list is
        # cut at `depth` (None: the whole catalogue); tied scores share their best rank.
        def fn(qs):
            return rrf_scores([(enc_scores(qs), False), (bm_scores(qs), True)], depth)
        return fn

    methods = [("encoder", enc_scores), ("bm25", bm_scores), ("hybrid (RRF)", hybrid(None)),
               ("hybrid (RRF, 100 + 100)", hybrid(100)), ("random", rnd_scores)]
    groups_arr = np.asarray(groups)

    def oracle_scores(qs):  # every product of the queried group tied first: the protocol's ceiling
        return np.stack([(groups_arr == q).astype(np.float32) for q in qs])

    res = {}

    # P1: group name -> the held-out product, ranked in the full catalogue
    q1 = [groups[i] for i in held]
    # P3: 1-3 word span of the name -> the product, full catalogue
    q3 = [qm.fragment(rng, i) for i in held]
    # P4: group name + 1-2 word span -> the product, full catalogue
    q4 = [groups[i] + " " + qm.fragment(rng, i, 2) for i in held]
    for key, qs in (("group->product", q1), ("fragment->product", q3), ("group+fragment->product", q4)):
        res[key] = {}
        for mname, fn in methods + ([("oracle", oracle_scores)] if key == "group->product" else []):
            res[key][mname] = rank_single(key, fn, qs, held, len(names))
    res["examples"] = {"fragment->product": list(zip(q3[:5], [names[i] for i in held[:5]])),
                       "group+fragment->product": list(zip(q4[:5], [names[i] for i in held[:5]]))}

    # P2: group name -> all held-out products of that group, candidates = held-out products
    held_arr = np.asarray(held)
    hg = np.asarray([groups[i] for i in held])
    uniq = sorted(set(hg.tolist()))
    res["group->heldout members"] = {}
    for mname, fn in methods:
        acc = MultiTarget(ks=(10, 100))
        s = fn(uniq)[:, held_arr]
        for qi, g in enumerate(uniq):
            acc.add(s[qi], hg == g)
        res["group->heldout members"][mname] = acc.result()
    log("eval: done in %.0fs" % (time.time() - t0))
    return res


def eval_table(res, title):
    lines = ["### " + title, "", "| protocol | queries | method | Recall@10 | MRR | P@10 | Recall@100 |", "|---|---|---|---|---|---|---|"]
    for proto, by in res.items():
        if proto == "examples":
            continue
        for m, r in by.items():
            f = lambda k: ("%.4f" % r[k]) if k in r else ""
            lines.append("| %s | %d | %s | %s | %s | %s | %s |" % (proto, r["queries"], m, f("recall@10"), f("mrr"), f("precision@10"), f("recall@100")))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- main


def tokenizer_cases(tok, g_items, i_items, seed, extra):
    """Texts + ids for check_tokenizer.js: all Groceries names/categories, 800 Instacart names, all aisles/departments."""
    rng = random.Random(seed + 3)
    texts = [it["name"] for it in g_items] + sorted({n for it in g_items for _, n in it["groups"]})
    if i_items:
        texts += [it["name"] for it in rng.sample(i_items, 800)]
        texts += sorted({n for it in i_items for _, n in it["groups"]})
    texts += extra
    return [{"text": t, "ids": tok.encode(t)} for t in texts]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=["groceries", "instacart"], default="groceries")
    ap.add_argument("--data", default=os.path.join(os.path.dirname(REPO), "shared", "data"), help="shared data root (default ../shared/data)")
    ap.add_argument("--out", help="model repository folder to write (default models/query-encoder or build/encoder/instacart/query-encoder-instacart)")
    ap.add_argument("--build", default=os.path.join(REPO, "build", "encoder"), help="scratch/report folder")
    ap.add_argument("--eval", action="store_true", help="run the retrieval evaluation")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--steps", type=int, help="override the preset's step count")
    ap.add_argument("--hard-negatives", choices=["same-aisle"], help="compose batches of same-aisle groups "
                    "(amendment A8); default build folder build/encoder/<dataset>-hardneg")
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=512)
    args = ap.parse_args()

    torch.set_num_threads(1)
    seed_all(args.seed)
    t_start = time.time()
    preset = dict(PRESETS[args.dataset])
    if args.steps:
        preset["steps"] = args.steps
    gro_root = os.path.join(args.data, "groceries")
    ica_root = os.path.join(args.data, "instacart")
    bert_vocab = os.path.join(args.data, "bert-base-uncased-vocab", "vocab.txt")
    build = os.path.join(args.build, args.dataset + ("-hardneg" if args.hard_negatives else ""))
    os.makedirs(build, exist_ok=True)
    if args.out is None and args.hard_negatives:
        if args.dataset == "groceries":
            raise SystemExit("--hard-negatives is an experiment: give --out (the default model is not overwritten)")
        args.out = os.path.join(build, "query-encoder-instacart")
    if args.out is None:
        args.out = os.path.join(REPO, "models", "query-encoder") if args.dataset == "groceries" else os.path.join(build, "query-encoder-instacart")
    out = args.out
    os.makedirs(os.path.join(out, "1"), exist_ok=True)

    # vocabulary: shared by both models, built from Groceries + Instacart texts
    tokens, vstats = build_subset_vocab(load_vocab(bert_vocab), vocab_texts(gro_root, ica_root))
    log("vocab: %s" % vstats)
    tok = BertTokenizer(tokens)
    tok.save(os.path.join(out, "vocab.txt"), os.path.join(out, "tokenizer.json"))

    g_items = load_groceries(gro_root)
    i_items, _, _ = load_instacart(ica_root)
    if args.dataset == "groceries":
        items = g_items
        train_idx, held = list(range(len(items))), []
    else:
        items = i_items
        train_idx, held = split_holdout(len(items), 0.10, args.seed)
    log("%s: %d items, %d train, %d held out" % (args.dataset, len(items), len(train_idx), len(held)))

    cfg = M.EncoderConfig(len(tokens), hidden=args.hidden, layers=args.layers, heads=args.heads, ffn=args.ffn, max_positions=64)
    model = M.BertEncoder(cfg)
    train_s, train_cpu = train(model, tok, items, train_idx, preset, args.seed, args.dataset, args.hard_negatives)
    log("training: %.1fs wall, %.1fs cpu for %d steps of %d" % (train_s, train_cpu, preset["steps"], preset["batch"]))
    # weights for scripts/eval (re-measures the encoder under docs/evaluation.md without retraining)
    torch.save(model.state_dict(), os.path.join(build, "model.pt"))

    onnx_path = os.path.join(out, "1", "model.onnx")
    export_onnx(model, onnx_path)
    check_padding(model, tok, GOLDEN_QUERIES + HARD_CASES)
    write_config(out, cfg.hidden)

    # item embeddings (plain F.linear for the small Groceries table, oneDNN for 49,688 products)
    fast = args.dataset == "instacart"
    embs = embed_texts(model, tok, [it["name"] for it in items], fast)
    if args.dataset == "groceries":
        rows = [(it["id"], it["name"], it["groups"][0][1], it["groups"][1][1]) for it in items]
        write_items(os.path.join(out, "items"), rows, embs, ["id", "name", "level2", "level1"])
    else:
        rows = [(it["id"], it["name"], it["groups"][0][1], it["groups"][1][1]) for it in items]
        write_items(os.path.join(out, "items"), rows, embs, ["id", "name", "aisle", "department"])

    write_golden(model, tok, os.path.join(out, "golden_embeddings.jsonl"))
    if args.dataset == "groceries":
        with open(os.path.join(gro_root, "PROVENANCE.md"), encoding="utf-8") as f:
            prov = f.read()
        with open(os.path.join(out, "DATA.md"), "w", encoding="utf-8") as f:
            f.write(DATA_NOTE + prov)

    cases = tokenizer_cases(tok, g_items, i_items, args.seed, GOLDEN_QUERIES + HARD_CASES)
    with open(os.path.join(build, "tokcheck.jsonl"), "w", encoding="utf-8") as f:
        for c in cases:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")

    summary = {
        "dataset": args.dataset,
        "seed": args.seed,
        "model": cfg.to_dict(),
        "params": sum(p.numel() for p in model.parameters()),
        "preset": {k: v for k, v in preset.items()},
        "hard_negatives": args.hard_negatives and {"recipe": args.hard_negatives, "group": AISLE_GROUP},
        "vocab": vstats,
        "train_seconds_wall": round(train_s, 1),
        "train_seconds_cpu": round(train_cpu, 1),
        "torch": torch.__version__,
        "files": {},
    }
    if args.eval:
        evals = {}
        if args.dataset == "instacart":
            evals["instacart held-out (10%)"] = evaluate(model, tok, items, held, args.seed, True)
        else:
            evals["groceries (training items, no hold-out)"] = evaluate(model, tok, items, list(range(len(items))), args.seed, False)
            # zero-shot: the Groceries-only model on the same Instacart protocol as the Instacart model
            _, ih = split_holdout(len(i_items), 0.10, args.seed)
            evals["instacart held-out (10%), zero-shot"] = evaluate(model, tok, i_items, ih, args.seed, True)
        summary["eval"] = evals
        md = "".join(eval_table({k: v for k, v in r.items()}, "%s: %s" % (args.dataset, name)) + "\n" for name, r in evals.items())
        with open(os.path.join(build, "eval.md"), "w", encoding="utf-8") as f:
            f.write(md)
        log(md)

    for root, _, files in os.walk(out):
        for fn in sorted(files):
            p = os.path.join(root, fn)
            summary["files"][os.path.relpath(p, REPO)] = os.path.getsize(p)
    summary["total_seconds_wall"] = round(time.time() - t_start, 1)
    summary["total_seconds_cpu"] = round(time.process_time(), 1)
    with open(os.path.join(build, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1, ensure_ascii=False)
    for p, n in summary["files"].items():
        log("wrote %s (%d bytes)" % (p, n))
    log("wrote %s, %s" % (os.path.relpath(os.path.join(build, "summary.json"), REPO), os.path.relpath(os.path.join(build, "tokcheck.jsonl"), REPO)))
    log("total %.0fs" % (time.time() - t_start))


@torch.no_grad()
def write_golden(model, tok, path):
    """50 texts with tokens, ids and their torch embedding (mean-pooled over the mask, L2-normalised)."""
    model.eval()
    M.FAST_LINEAR["on"] = False
    texts = [("query", t) for t in GOLDEN_QUERIES] + [("hard", t) for t in HARD_CASES]
    assert len(texts) == 50, len(texts)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for kind, t in texts:
            full = tok.encode(t)
            ids = tok.encode(t, MAX_SEQ_LEN)
            x = torch.tensor([ids])
            m = torch.ones_like(x)
            emb = M.mean_pool(model(x, m, torch.zeros_like(x)), m)[0].numpy().astype(np.float32)
            rec = {
                "text": t,
                "kind": kind,
                "tokens": [tok.tokens[i] for i in ids],
                "input_ids": ids,
                "token_type_ids": [0] * len(ids),
                "truncated": len(full) > len(ids),
                "embedding": [float(v) for v in emb],
            }
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    log("golden: %d texts -> %s" % (len(texts), path))


if __name__ == "__main__":
    main()
