"""The SR-GNN cart models as protocol methods (docs/evaluation.md).

`shipped(dir)` loads the committed ONNX model's weights into the torch module of
scripts/gnn/model.py (the export folded the Linear weights into MatMul
initialisers; their mapping is checked against graphnn/testdata/session_golden.jsonl).
`trained(dir, work)` loads a model.pt written by scripts/gnn/train.py.
"""

import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "gnn"))
from graph import build_batch  # noqa: E402
from model import SRGNN  # noqa: E402

torch.set_num_threads(1)  # as training: one thread, deterministic sums


def _items_tsv(path):
    keys = []
    with open(path, encoding="utf-8") as f:
        next(f)
        for line in f:
            keys.append(int(line.split("\t", 1)[0]))
    return keys


class GNN:
    def __init__(self, name, model, keys, vocab, params=None):
        self.name, self.model, self.params = name, model, params or {}
        self.keys = keys  # model index -> key
        self.mindex = {k: i for i, k in enumerate(keys)}
        self.vocab = vocab  # evaluation vocab (popularity tie-break)
        # model column -> evaluation vocab index
        self.to_vocab = np.array([vocab.index.get(k, -1) for k in keys])
        self.cache = {}

    def _scores(self, carts):
        self.model.eval()
        out = []
        with torch.no_grad():
            for i in range(0, len(carts), 256):
                items, A, alias, mask = build_batch(carts[i:i + 256])
                _, sc = self.model(torch.from_numpy(items), torch.from_numpy(A),
                                   torch.from_numpy(alias), torch.from_numpy(mask))
                out.append(sc.numpy())
        return np.concatenate(out)

    def prime(self, inputs):
        todo = sorted({tuple(self.mindex[k] for k in c if k in self.mindex) for c in inputs} - {()})
        todo = [t for t in todo if t not in self.cache]
        if todo:
            for t, row in zip(todo, self._scores([list(t) for t in todo])):
                self.cache[t] = row

    def scores(self, cart):
        """Scores over the evaluation vocabulary (-inf: an item the model lacks); None
        when the model knows no item of the cart."""
        t = tuple(self.mindex[k] for k in cart if k in self.mindex)
        if not t:
            return None
        if t not in self.cache:
            self.prime([cart])
        row = self.cache[t]
        s = np.full(len(self.vocab.keys), -np.inf)
        ok = self.to_vocab >= 0
        s[self.to_vocab[ok]] = row[ok]
        return s

    def recommend(self, cart, n):
        s = self.scores(cart)
        if s is None:
            return self.vocab.popular(n)
        return self.vocab.top(s, n)


def shipped(path, vocab, name="SR-GNN (shipped cart-gnn)"):
    import onnx
    from onnx import numpy_helper

    m = onnx.load(os.path.join(path, "1", "model.onnx"))
    init = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in m.graph.initializer}
    keys = _items_tsv(os.path.join(path, "items.tsv"))
    d = init["embedding.weight"].shape[1]
    net = SRGNN(len(keys), d=d, step=1)
    sd = net.state_dict()
    for k in sd:
        if k in init:
            sd[k] = init[k]
    mats = {n: t for n, t in init.items() if n.startswith("onnx::MatMul")}
    by_shape = {}
    for n in sorted(mats, key=lambda s: int(s.rsplit("_", 1)[1])):
        by_shape.setdefault(tuple(mats[n].shape), []).append(mats[n])
    sd["cell.gate_x.weight"] = by_shape[(2 * d, 3 * d)][0].T
    sd["cell.gate_h.weight"] = by_shape[(d, 3 * d)][0].T
    sd["q.weight"] = by_shape[(d, 1)][0].T
    sq = by_shape[(d, d)]  # in export order: edge_in, edge_out, w2
    sd["cell.edge_in.weight"], sd["cell.edge_out.weight"], sd["w2.weight"] = sq[0].T, sq[1].T, sq[2].T
    net.load_state_dict(sd)
    _check_golden(net)
    return GNN(name, net, keys, vocab, {"model": os.path.relpath(path, ROOT)})


def _check_golden(net):
    path = os.path.join(ROOT, "graphnn", "testdata", "session_golden.jsonl")
    with open(path) as f:
        recs = [json.loads(line) for line in f][:10]
    net.eval()
    with torch.no_grad():
        for r in recs:
            items, A, alias, mask = build_batch([r["cart"]])
            s, _ = net(torch.from_numpy(items), torch.from_numpy(A), torch.from_numpy(alias), torch.from_numpy(mask))
            err = float(np.abs(s.numpy()[0] - np.array(r["session"])).max())
            if err > 1e-4:
                raise SystemExit("shipped cart-gnn weights do not reproduce session_golden.jsonl (max err %g)" % err)


def trained(out, work, vocab, name, groups=None, weights="model.pt"):
    """A model written by scripts/gnn/train.py: out/items.tsv, work/model.pt, work/results.json.
    weights "model-fit.pt" is its early-stopping model, fitted on train minus validation."""
    with open(os.path.join(work, "results.json")) as f:
        res = json.load(f)
    p = res["results"][0]["params"]
    keys = _items_tsv(os.path.join(out, "items.tsv"))
    tables = None
    if p.get("side_features") and groups:
        k = len(next(iter(groups.values())))
        tables = [[0] + [groups[key][g] for key in keys] for g in range(k)]
    net = SRGNN(len(keys), d=p["dim"], step=p["step"], norm_scale=p["norm_scale"], dropout=p["dropout"],
                groups=tables, repeat=p["repeat"])
    net.load_state_dict(torch.load(os.path.join(work, weights)))
    return GNN(name, net, keys, vocab, {k: v for k, v in p.items() if k not in ("work", "dataset")})
