"""Session-graph tensors exactly as SR-GNN's `Data.get_slice` builds them.

Reference: CRIPAC-DIG/SR-GNN @ e21cfa43, pytorch_code/utils.py (`data_masks`,
`Data.get_slice`). The Go package graphnn/ reproduces this function bit for bit;
graphnn/testdata/graph_golden.jsonl (written by scripts/gnn/golden.py) pins it.

Conventions (see docs/models-gnn.md, "Graph tensors"):
  * A cart is a list of 0-based model item indices (row numbers of items.tsv; for
    the Groceries model these are the catalogue ids 0..168), in add order.
  * In the tensors items are 1-based (index + 1); 0 is padding, as in the reference.
  * seq = longest cart in the batch; shorter carts are right-padded with 0 and
    mask 0. As in the reference, np.unique runs over the *padded* row, so a padded
    cart gets an extra node for item 0, which sorts first (node index 0), and its
    padding positions alias to it. That node has no edges (the edge loop stops at
    the first padding position), so it never changes the outputs for the real
    positions; it only makes the tensors match the reference exactly.
  * n_node = the largest per-cart unique count (0 node included); items rows are
    right-padded with 0.
  * u_A[u][v] = 1 when some position i has row[i] = node u and row[i+1] = node v
    (binary: repeated transitions count once; self-loops allowed).
    A = [A_in | A_out] of shape [n_node, 2*n_node] with
      A_in[i][j]  = u_A[j][i] / indeg(i)   (indeg(i) = sum_j u_A[j][i], 0 -> 1)
      A_out[i][j] = u_A[i][j] / outdeg(i)  (outdeg(i) = sum_j u_A[i][j], 0 -> 1)
    i.e. the reference's concatenate([u_A / u_sum_in, u_A.T / u_sum_out]).T.
    The division is done in float64 and rounded to float32 once, as the reference
    does (numpy float64 -> torch.Tensor(...).float()).
"""

import numpy as np


def build_batch(carts):
    """Returns (items, A, alias, mask) numpy arrays for a list of carts.

    items int64 [B, n_node], A float32 [B, n_node, 2*n_node],
    alias int64 [B, seq], mask int64 [B, seq].
    Raises ValueError on an empty batch or an empty cart.
    """
    if len(carts) == 0:
        raise ValueError("empty batch")
    if min(len(c) for c in carts) == 0:
        raise ValueError("empty cart")
    seq = max(len(c) for c in carts)
    rows = np.zeros((len(carts), seq), dtype=np.int64)
    mask = np.zeros((len(carts), seq), dtype=np.int64)
    for b, c in enumerate(carts):
        rows[b, : len(c)] = np.asarray(c, dtype=np.int64) + 1
        mask[b, : len(c)] = 1
    nodes = [np.unique(r) for r in rows]  # sorted; contains 0 iff the row is padded
    n_node = max(len(n) for n in nodes)
    items = np.zeros((len(carts), n_node), dtype=np.int64)
    A = np.zeros((len(carts), n_node, 2 * n_node), dtype=np.float32)
    alias = np.zeros((len(carts), seq), dtype=np.int64)
    for b, (c, node) in enumerate(zip(carts, nodes)):
        items[b, : len(node)] = node
        alias[b] = np.searchsorted(node, rows[b])  # position of each id in node
        adj = np.zeros((n_node, n_node))  # adj[u, v] = 1 for a transition u -> v
        src = alias[b, : len(c) - 1]
        dst = alias[b, 1 : len(c)]
        adj[src, dst] = 1.0
        indeg = adj.sum(axis=0)
        indeg[indeg == 0] = 1.0
        outdeg = adj.sum(axis=1)
        outdeg[outdeg == 0] = 1.0
        # float64 division, one rounding to float32 (as the reference).
        A[b, :, :n_node] = (adj.T / indeg[:, None]).astype(np.float32)
        A[b, :, n_node:] = (adj / outdeg[:, None]).astype(np.float32)
    return items, A, alias, mask


def naive_build(carts):
    """An independent, loop-and-dict restatement of the same rules, used by
    golden.py to cross-check build_batch before writing the goldens."""
    seq = max(len(c) for c in carts)
    per = []
    for c in carts:
        row = [x + 1 for x in c] + [0] * (seq - len(c))
        node = sorted(set(row))
        pos = {x: k for k, x in enumerate(node)}
        edges = set()
        for i in range(len(c) - 1):
            edges.add((pos[row[i]], pos[row[i + 1]]))
        per.append((row, node, pos, edges, c))
    n = max(len(p[1]) for p in per)
    items, A, alias, mask = [], [], [], []
    for row, node, pos, edges, c in per:
        items.append(node + [0] * (n - len(node)))
        m = [[0.0] * (2 * n) for _ in range(n)]
        for i in range(n):
            ins = [u for (u, v) in edges if v == i]
            outs = [v for (u, v) in edges if u == i]
            for u in ins:
                m[i][u] = 1.0 / len(ins)
            for v in outs:
                m[i][n + v] = 1.0 / len(outs)
        A.append(m)
        alias.append([pos[x] for x in row])
        mask.append([1] * len(c) + [0] * (seq - len(c)))
    return (np.asarray(items, dtype=np.int64), np.asarray(A, dtype=np.float64).astype(np.float32),
            np.asarray(alias, dtype=np.int64), np.asarray(mask, dtype=np.int64))
