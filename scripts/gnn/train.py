#!/usr/bin/python3
"""Train, evaluate and export the SR-GNN cart model for one dataset.

  /usr/bin/python3 scripts/gnn/train.py --dataset groceries --out models/cart-gnn
  /usr/bin/python3 scripts/gnn/train.py --dataset instacart --out build/gnn/instacart

Writes <out>/1/model.onnx, items.tsv + items.f32, popular.tsv, config.yaml, DATA.md
and build/gnn/<dataset>/results.json (metrics of the GNN and of every baseline on
the same test cases). See docs/models-gnn.md.

Each version also gets its own item embeddings beside its model, <out>/<N>/items.f32,
which the server's item index prefers to the model directory's (recommend/items.go).
--version N > 1 publishes a retrained version into an existing model directory: it
writes only <out>/<N>/items.f32 and then <out>/<N>/model.onnx, each by rename, so a
polling server loads the whole version or nothing, and it refuses an item vocabulary
other than the one <out>/items.tsv (shared by every version) declares.
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import baselines  # noqa: E402
import data  # noqa: E402
from graph import build_batch  # noqa: E402
from model import SRGNN  # noqa: E402
from samples import SET_MODES, SET_ORDERS, Sampler, batches  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def to_tensors(carts):
    items, A, alias, mask = build_batch(carts)
    return (torch.from_numpy(items), torch.from_numpy(A), torch.from_numpy(alias), torch.from_numpy(mask))


def cart_mask(carts, n_items, targets=None):
    """Bool [B, n_items]: items present in each cart (target excluded)."""
    m = torch.zeros(len(carts), n_items, dtype=torch.bool)
    for b, c in enumerate(carts):
        m[b, list(set(c))] = True
    if targets is not None:
        m[torch.arange(len(carts)), targets] = False
    return m


def gnn_scores(model, carts, batch=256):
    """Scores [len(carts), n_items] (numpy) for non-empty carts."""
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(carts), batch):
            _, sc = model(*to_tensors(carts[i : i + batch]))
            out.append(sc.numpy())
    return np.concatenate(out) if out else np.zeros((0, model.n_items))


def eval_gnn(model, cases, n_items, exclude_cart, pop, ranks=None):
    carts = [c for c, t in cases if c and t >= 0]
    keys = {}
    sc = gnn_scores(model, carts)
    for c, row in zip(carts, sc):
        keys[tuple(c)] = row
    return baselines.rank_metrics(lambda c: keys[tuple(c)], cases, n_items, exclude_cart, pop, ranks)


def group_tables(ds, vocab):
    """Per side feature, a table [n_items + 1] of group ids (0 = padding row)."""
    if not ds.groups:
        return None
    k = len(next(iter(ds.groups.values())))
    return [[0] + [ds.groups[key][g] for key in vocab.keys] for g in range(k)]


def ppmi_embeddings(sessions, n_items, d, seed):
    """Item vectors from a rank-d randomized SVD of the positive PMI matrix of
    within-session co-occurrence (U sqrt(S)), used to initialise E on sparse data."""
    c = np.zeros((n_items, n_items), dtype=np.float32)
    for s in sessions:
        u = np.array(sorted(set(s)), dtype=np.int64)
        if len(u) > 1:
            c[np.ix_(u, u)] += 1.0
    np.fill_diagonal(c, 0.0)
    row = c.sum(1)
    total = row.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log(c * total / np.outer(row, row))
    pmi[~np.isfinite(pmi)] = 0.0
    np.maximum(pmi, 0.0, out=pmi)
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((n_items, d + 10)).astype(np.float32)
    for _ in range(3):  # power iterations (the matrix is symmetric)
        q, _ = np.linalg.qr(pmi @ q)
    b = q.T @ pmi
    ub, s, _ = np.linalg.svd(b, full_matrices=False)
    return (q @ ub[:, :d]) * np.sqrt(s[:d])


def fit(args, ds, vocab, train_idx, val_cases, n_items, epochs, log, fixed_epochs=False):
    """Trains a fresh model; with fixed_epochs trains exactly `epochs`, else keeps
    the best val MRR@20 epoch (patience args.patience). Returns (model, best_epoch, history)."""
    seed_all(args.seed)
    model = SRGNN(n_items, d=args.dim, step=args.step, norm_scale=args.norm_scale, dropout=args.dropout,
                  groups=group_tables(ds, vocab) if args.side_features else None, repeat=args.repeat)
    if args.init_ppmi:
        e = ppmi_embeddings(train_idx, n_items, args.dim, args.seed)
        e *= 0.577 / max(1e-9, float(np.linalg.norm(e, axis=1).mean()))  # norm of the uniform init
        with torch.no_grad():
            model.embedding.weight[1:] = torch.from_numpy(e.astype(np.float32))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.l2)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=args.lr_dc_step, gamma=args.lr_dc)
    pop = baselines.popularity(train_idx, n_items)
    rng = random.Random(args.seed)
    sampler = Sampler(train_idx, ds.is_set, args.set_mode, args.set_order, args.holdout_orders)
    best, best_state, best_epoch, hist = -1.0, None, 0, []
    for ep in range(1, epochs + 1):
        t0 = time.time()
        model.train()
        samples = sampler.epoch(rng)
        total = 0.0
        for chunk in batches(samples, args.batch, rng, args.batch_pool):
            carts = [c for c, _ in chunk]
            tg = torch.tensor([t for _, t in chunk])
            _, scores = model(*to_tensors(carts))
            if ds.exclude_cart and not args.no_loss_mask:
                scores = scores.masked_fill(cart_mask(carts, n_items, tg), -1e4)
            loss = torch.nn.functional.cross_entropy(scores, tg)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(chunk)
        sched.step()
        rec = {"epoch": ep, "loss": total / max(1, len(samples)), "samples": len(samples), "seconds": time.time() - t0}
        if not fixed_epochs:
            m = eval_gnn(model, val_cases, n_items, ds.exclude_cart, pop)
            rec["val"] = m
            if m["MRR@20"] > best:
                best, best_epoch = m["MRR@20"], ep
                best_state = {k: v.clone() for k, v in model.state_dict().items()}
        hist.append(rec)
        log("  epoch %d loss %.4f (%d samples, %.1fs)%s" % (
            ep, rec["loss"], len(samples), rec["seconds"],
            "" if fixed_epochs else " val HR@20 %.4f MRR@20 %.4f" % (rec["val"]["HR@20"], rec["val"]["MRR@20"])))
        if not fixed_epochs and ep - best_epoch >= args.patience:
            break
    if not fixed_epochs:
        model.load_state_dict(best_state)
    return model, (best_epoch if not fixed_epochs else epochs), hist


def write_embeddings(prefix, ids, names, matrix, extra=None):
    """items.tsv + items.f32 in the catalog format of docs/CONVENTIONS.md."""
    with open(prefix + ".tsv", "w", encoding="utf-8", newline="\n") as f:
        f.write("id\tname" + ("\t" + "\t".join(extra[0]) if extra else "") + "\n")
        for r, (i, n) in enumerate(zip(ids, names)):
            n = n.replace("\t", " ").replace("\n", " ")
            f.write("%d\t%s%s\n" % (i, n, ("\t" + "\t".join(str(x) for x in extra[1][r])) if extra else ""))
    write_matrix(prefix + ".f32", matrix)


def write_matrix(path, matrix):
    """An item-embedding file (docs/CONVENTIONS.md), written to a temp name and renamed."""
    m = np.ascontiguousarray(matrix, dtype="<f4")
    with open(path + ".tmp", "wb") as f:
        f.write(b"AISLEEMB" + struct.pack("<II", m.shape[0], m.shape[1]))
        f.write(m.tobytes())
    os.replace(path + ".tmp", path)


def check_vocab(path, keys):
    """Exits unless the item table at path lists exactly keys, in order (a new version's vocabulary)."""
    try:
        with open(path, encoding="utf-8") as f:
            ids = [int(line.split("\t", 1)[0]) for line in f.read().splitlines()[1:] if line]
    except OSError as e:
        sys.exit("--version > 1 publishes into an existing model directory: %s" % e)
    if ids != list(keys):
        sys.exit("%s lists %d items, this training %d (or in another order): a new version must keep the "
                 "model's item vocabulary; train version 1 into a new model directory instead" % (
                     path, len(ids), len(keys)))


def args_opset(model):
    """14, or 16 when the model needs ScatterElements with reduction=add (repeat)."""
    return 16 if getattr(model, "repeat", False) else 14


def export_onnx(model, path):
    model.eval()
    ex = to_tensors([[0, 1, 0, 2], [3]])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.onnx.export(
        model, ex, path,
        input_names=["items", "A", "alias", "mask"],
        output_names=["session", "scores"],
        dynamic_axes={"items": {0: "batch", 1: "n_node"}, "A": {0: "batch", 1: "n_node", 2: "two_n_node"},
                      "alias": {0: "batch", 1: "seq"}, "mask": {0: "batch", 1: "seq"},
                      "session": {0: "batch"}, "scores": {0: "batch"}},
        opset_version=args_opset(model), do_constant_folding=True)
    import onnx

    m = onnx.load(path)
    onnx.checker.check_model(m)


def write_model_files(out, ds, vocab, names, emb, pop_full, n_items, args):
    """The model directory's files: items.tsv + items.f32, popular.tsv, config.yaml, DATA.md."""
    write_embeddings(os.path.join(out, "items"), vocab.keys, names, emb,
                     extra=(["count"], [[int(c)] for c in pop_full]))
    order = sorted(range(n_items), key=lambda i: (-pop_full[i], i))
    with open(os.path.join(out, "popular.tsv"), "w", encoding="utf-8", newline="\n") as f:
        f.write("id\tname\tcount\n")
        for i in order:
            f.write("%d\t%s\t%d\n" % (vocab.keys[i], names[i].replace("\t", " "), int(pop_full[i])))
    with open(os.path.join(out, "config.yaml"), "w") as f:
        f.write(CONFIG.format(dataset=ds.name, dim=args.dim, n_items=n_items, max_items=data.MAX_CART_ITEMS,
                              exclude=str(ds.exclude_cart).lower(),
                              scores="log_prob" if args.repeat else "dot",
                              scores_pad=" " * (20 - len("log_prob" if args.repeat else "dot"))))
    with open(os.path.join(out, "DATA.md"), "w", encoding="utf-8") as f:
        f.write(data.DATA_MD[ds.name])


CONFIG = """# SR-GNN cart model ({dataset}); written by scripts/gnn/train.py. Contract: docs/models-gnn.md.
# Inputs/outputs are derived from 1/model.onnx:
#   items INT64 [batch, n_node], A FP32 [batch, n_node, 2*n_node], alias INT64 [batch, seq],
#   mask INT64 [batch, seq] -> session FP32 [batch, {dim}], scores FP32 [batch, {n_items}].
# All four inputs of one batch must come from one graphnn.Builder.Build call over all its carts:
# A cannot be padded generically (its last axis is [in | out] halves of n_node each).
max_batch_size: 64
dynamic_batching: {{max_queue_delay_microseconds: 200, default_queue_policy: {{max_queue_size: 1024}}}}
instance_group: [{{count: 1, kind: KIND_CPU}}]
parameters:
  pipeline: cart-gnn           # served by RecommendCart (cart package)
  items: items                 # items.tsv + items.f32: row r = model index r = scores column r
  popular: popular.tsv         # popularity fallback (empty or all-unknown cart), most popular first
  max_cart_items: "{max_items}"          # keep the last N items of a longer cart
  exclude_cart_items: "{exclude}"     # drop items already in the cart from the ranking
  embedding_dim: "{dim}"
  num_items: "{n_items}"
  scores: "{scores}"{scores_pad}# dot: scores = session . items.f32; log_prob: repeat-explore mixture log P
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", required=True, choices=sorted(data.LOADERS))
    ap.add_argument("--out", required=True)
    ap.add_argument("--version", type=int, default=1,
                    help="version directory to write; > 1 adds a version to an existing <out> (docstring)")
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--step", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--patience", type=int, default=3)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--l2", type=float, default=1e-5)
    ap.add_argument("--lr-dc", type=float, default=0.1)
    ap.add_argument("--lr-dc-step", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--norm-scale", type=float, default=0.0, help="NISER scale (0 = plain SR-GNN)")
    ap.add_argument("--side-features", action="store_true",
                    help="add item side-feature embeddings (Instacart: aisle, department)")
    ap.add_argument("--repeat", action="store_true", help="add RepeatNet-style repeat scores for cart items")
    ap.add_argument("--init-ppmi", action="store_true", help="initialise item embeddings from PPMI-SVD")
    ap.add_argument("--dropout", type=float, default=0.0, help="dropout on node embeddings (training)")
    ap.add_argument("--set-mode", default="prefix", choices=SET_MODES,
                    help="training samples for set data (Groceries); scripts/gnn/samples.py")
    ap.add_argument("--set-order", default="epoch", choices=SET_ORDERS,
                    help="basket order for set data: fresh per epoch, drawn once, or the file's (samples.py)")
    ap.add_argument("--holdout-orders", type=int, default=3, help="hide-last samples per basket (holdout, both)")
    ap.add_argument("--batch-pool", type=int, default=50, help="batches per length-sorted pool (1 = plain shuffle)")
    ap.add_argument("--no-loss-mask", action="store_true",
                    help="do not mask the cart's own items in the training loss (exclude_cart data)")
    ap.add_argument("--work", help="where results.json and model.pt go (default build/gnn/<dataset>)")
    ap.add_argument("--skip-baselines", action="store_true", help="tuning runs: GNN only")
    ap.add_argument("--no-refit", action="store_true", help="skip retraining on train+val")
    ap.add_argument("--protocol", action="store_true",
                    help="use the splits of docs/evaluation.md; evaluate with scripts/eval/run_cart.py")
    args = ap.parse_args()
    torch.set_num_threads(1)
    seed_all(args.seed)
    t_start = time.time()
    log = lambda s: print(s, flush=True)  # noqa: E731

    ds = data.LOADERS[args.dataset]()
    if args.protocol:  # the splits of docs/evaluation.md (scripts/eval/protocol.py)
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "eval"))
        import protocol

        sp = protocol.SPLITS[args.dataset]()
        ds = data.Dataset(ds.name, sp.train, sp.val, sp.test, sp.names, is_set=ds.is_set,
                          exclude_cart=sp.exclude_cart, fixed_vocab=sp.fixed_vocab, groups=sp.groups, notes=sp.notes)
    full_train = ds.train + ds.val
    vocab = data.Vocab(ds.fixed_vocab) if ds.fixed_vocab else data.Vocab.from_sessions(full_train)
    n_items = len(vocab)
    if args.version < 1:
        sys.exit("--version must be at least 1")
    if args.version > 1:  # fail before training, not after
        check_vocab(os.path.join(os.path.abspath(args.out), "items.tsv"), vocab.keys)
    enc = lambda ss: [[vocab.index[k] for k in s if k in vocab.index] for s in ss]  # noqa: E731
    train_idx, full_idx = enc(ds.train), enc(full_train)
    val_cases = data.encode_cases(data.eval_cases(ds.val, ds.is_set, args.seed + 100), vocab)
    test_cases = data.encode_cases(data.eval_cases(ds.test, ds.is_set, args.seed + 200), vocab)
    oov = sum(1 for _, t in test_cases if t < 0)
    log("%s: %d train (%d fit + %d val) / %d test sessions, %d items, %d test cases (%d targets unseen in train)" % (
        ds.name, len(full_train), len(ds.train), len(ds.val), len(ds.test), n_items, len(test_cases), oov))

    # Baselines: tune on (train, val), refit on train+val, score on test.
    t0 = time.time()
    results = []
    pop_full = baselines.popularity(full_idx, n_items)
    for name, params, make in ([] if args.skip_baselines else
                               baselines.build_baselines(train_idx, val_cases, n_items, ds.exclude_cart, log)):
        ranks = []
        m = baselines.rank_metrics(make(full_idx, n_items), test_cases, n_items, ds.exclude_cart, pop_full, ranks)
        results.append({"method": name, "params": params, "test": m, "ranks": ranks})
        log("  %-28s %s" % (name, " ".join("%s %.4f" % kv for kv in m.items())))
    t_base = time.time() - t0

    # GNN: early stopping on val, then refit on train+val for the best epoch count.
    t0 = time.time()
    model, best_epoch, hist = fit(args, ds, vocab, train_idx, val_cases, n_items, args.epochs, log)
    fit_state = model.state_dict()  # fitted on train minus val: what validation-tuned blends use (A11)
    t_fit = time.time() - t0
    log("  best val epoch %d (%.0fs)" % (best_epoch, t_fit))
    t_refit = 0.0
    if not args.no_refit:
        t0 = time.time()
        model, _, hist2 = fit(args, ds, vocab, full_idx, val_cases, n_items, best_epoch, log, fixed_epochs=True)
        t_refit = time.time() - t0
        hist += hist2
    ranks = []
    m = eval_gnn(model, test_cases, n_items, ds.exclude_cart, pop_full, ranks)
    results.insert(0, {"method": "SR-GNN", "params": {k: v for k, v in vars(args).items() if k not in ("out",)},
                       "test": m, "ranks": ranks})
    log("  %-28s %s" % ("SR-GNN", " ".join("%s %.4f" % kv for kv in m.items())))

    # Export: the model-level files for version 1 (the vocabulary every version
    # shares), then the version's embeddings and, last, its model, each by rename.
    out = os.path.abspath(args.out)
    version = str(args.version)
    os.makedirs(os.path.join(out, version), exist_ok=True)
    names = [ds.names.get(k, str(k)) for k in vocab.keys]
    emb = model.item_embeddings().detach().numpy()
    written = [os.path.join(version, "items.f32"), os.path.join(version, "model.onnx")]
    if args.version == 1:
        write_model_files(out, ds, vocab, names, emb, pop_full, n_items, args)
        written += ["items.tsv", "items.f32", "popular.tsv", "config.yaml", "DATA.md"]
    write_matrix(os.path.join(out, version, "items.f32"), emb)
    tmp = os.path.join(out, version, "model.onnx.tmp")
    export_onnx(model, tmp)
    os.replace(tmp, os.path.join(out, version, "model.onnx"))
    res_dir = os.path.abspath(args.work or os.path.join(ROOT, "build", "gnn", ds.name))
    os.makedirs(res_dir, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(res_dir, "model.pt"))
    torch.save(fit_state, os.path.join(res_dir, "model-fit.pt"))
    summary = {
        "dataset": ds.name, "split": ds.notes, "n_items": n_items,
        "train_sessions": len(full_train), "test_sessions": len(ds.test), "test_cases": len(test_cases),
        "test_targets_unseen": oov, "exclude_cart": ds.exclude_cart,
        "seconds": {"baselines": t_base, "gnn_early_stop": t_fit, "gnn_refit": t_refit,
                    "total": time.time() - t_start},
        "best_epoch": best_epoch, "history": hist, "results": results,
    }
    with open(os.path.join(res_dir, "results.json"), "w") as f:
        json.dump(summary, f, indent=1)
    for p in written:
        log("wrote %s (%d bytes)" % (os.path.join(out, p), os.path.getsize(os.path.join(out, p))))
    log("wrote %s and model.pt" % os.path.join(res_dir, "results.json"))


if __name__ == "__main__":
    main()
