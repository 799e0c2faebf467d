"""SR-GNN session-graph network (Wu et al., AAAI 2019), written for ONNX export.

forward(items, A, alias, mask) -> (session [B, d], scores [B, n_items]):
  h      = E[items]                                  node embeddings, E is (n_items+1, d), row 0 = padding
  h      = GGNN(A, h) repeated `step` times          gated graph update (paper eq. 1-5)
  s_seq  = h[alias]                                  back to cart positions
  s_l    = s_seq[last real position]                 local interest (last added item)
  alpha  = q^T sigmoid(W1 s_l + W2 s_seq_i + c)      soft attention (eq. 6)
  s_g    = sum_i alpha_i mask_i s_seq_i              global preference
  s      = W3 [s_g ; s_l]                            hybrid session embedding (eq. 7)
  scores = s . E[1:]^T                               column j = model item index j (eq. 8)
"""

import math

import torch
from torch import nn


class GatedGraphCell(nn.Module):
    """One GGNN propagation step over a session graph: messages along incoming
    and outgoing edges (A[:, :, :n] and A[:, :, n:]), then a GRU-style update."""

    def __init__(self, d):
        super().__init__()
        self.edge_in = nn.Linear(d, d)
        self.edge_out = nn.Linear(d, d)
        self.bias_in = nn.Parameter(torch.zeros(d))
        self.bias_out = nn.Parameter(torch.zeros(d))
        self.gate_x = nn.Linear(2 * d, 3 * d)
        self.gate_h = nn.Linear(d, 3 * d)

    def forward(self, A, h):
        n = A.shape[1]
        m_in = torch.matmul(A[:, :, :n], self.edge_in(h)) + self.bias_in
        m_out = torch.matmul(A[:, :, n:], self.edge_out(h)) + self.bias_out
        x = self.gate_x(torch.cat([m_in, m_out], 2))
        g = self.gate_h(h)
        x_r, x_z, x_n = x.chunk(3, 2)
        g_r, g_z, g_n = g.chunk(3, 2)
        reset = torch.sigmoid(x_r + g_r)
        update = torch.sigmoid(x_z + g_z)
        cand = torch.tanh(x_n + reset * g_n)
        return (1 - update) * cand + update * h


class SRGNN(nn.Module):
    """norm_scale > 0 turns on NISER's normalisation (Gupta et al. 2019): item
    embeddings are L2-normalised wherever they are used and the session
    embedding is L2-normalised and multiplied by norm_scale, so scores are
    scaled cosines. The exported `session` output and items.f32 are then the
    normalised vectors, and scores stay session . items. dropout applies to the
    node embeddings during training only."""

    def __init__(self, n_items, d=100, step=1, norm_scale=0.0, dropout=0.0, groups=None, repeat=False):
        super().__init__()
        self.n_items = n_items
        self.d = d
        self.step = step
        self.norm_scale = norm_scale
        self.drop = nn.Dropout(dropout)
        self.embedding = nn.Embedding(n_items + 1, d)
        # Optional item side features (e.g. Instacart aisle and department): each
        # item's vector is E[i] + sum_g G_g[group_g[i]], with the item -> group
        # maps stored in the model, so the ONNX inputs stay item ids only.
        groups = groups or []
        self.n_groups = len(groups)
        self.group_emb = nn.ModuleList()
        for g, table in enumerate(groups):
            self.register_buffer("group_of_%d" % g, torch.as_tensor(table, dtype=torch.long))
            self.group_emb.append(nn.Embedding(int(max(table)) + 1, d))
        self.cell = GatedGraphCell(d)
        self.w1 = nn.Linear(d, d)
        self.w2 = nn.Linear(d, d)
        self.q = nn.Linear(d, 1, bias=False)
        self.w3 = nn.Linear(2 * d, d)
        # Optional repeat-explore mixture for view logs where users revisit
        # items (RepeatNet, Ren et al. AAAI 2019):
        #   P(j) = p_r * P_repeat(j) + (1 - p_r) * P_explore(j),
        #   P_repeat = softmax over the cart's nodes of v^T tanh(U h_i + V s),
        #   P_explore = softmax over all items of s . E_j,  p_r = sigmoid(w . s).
        # scores are then log P(j) (same ranking use; no longer s . E_j).
        self.repeat = repeat
        if repeat:
            self.rep_u = nn.Linear(d, d)
            self.rep_v = nn.Linear(d, d, bias=False)
            self.rep_out = nn.Linear(d, 1)
            self.rep_gate = nn.Linear(d, 1)
        bound = 1.0 / math.sqrt(d)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def item_table(self):
        """All item vectors, row 0 = padding: E plus the side-feature vectors."""
        e = self.embedding.weight
        for g in range(self.n_groups):
            e = e + self.group_emb[g](getattr(self, "group_of_%d" % g))
        return e

    def session(self, items, A, alias, mask):
        return self._encode(items, A, alias, mask)[0]

    def _encode(self, items, A, alias, mask):
        h = self.embedding(items) if self.n_groups == 0 else nn.functional.embedding(items, self.item_table())
        if self.norm_scale > 0:
            h = nn.functional.normalize(h, dim=-1)
        h = self.drop(h)
        for _ in range(self.step):
            h = self.cell(A, h)
        d = self.d
        seq_h = torch.gather(h, 1, alias.unsqueeze(2).expand(-1, -1, d))
        last = (mask.sum(1) - 1).view(-1, 1, 1).expand(-1, 1, d)
        s_l = torch.gather(seq_h, 1, last).squeeze(1)
        alpha = self.q(torch.sigmoid(self.w1(s_l).unsqueeze(1) + self.w2(seq_h)))
        s_g = (alpha * seq_h * mask.unsqueeze(2).to(seq_h.dtype)).sum(1)
        s = self.w3(torch.cat([s_g, s_l], 1))
        if self.norm_scale > 0:
            s = self.norm_scale * nn.functional.normalize(s, dim=-1)
        return s, h

    def item_embeddings(self):
        """E[1:] (normalised with norm_scale): row j is model item index j (items.f32)."""
        e = self.item_table()[1:]
        if self.norm_scale > 0:
            e = nn.functional.normalize(e, dim=-1)
        return e

    def forward(self, items, A, alias, mask):
        s, h = self._encode(items, A, alias, mask)
        scores = torch.matmul(s, self.item_embeddings().t())
        if self.repeat:
            r = self.rep_out(torch.tanh(self.rep_u(h) + self.rep_v(s).unsqueeze(1))).squeeze(2)
            r = r.masked_fill(items == 0, -1e4)  # padding nodes get no mass
            p_rep = torch.softmax(r, 1)
            # Column 0 of the (n_items + 1)-wide buffer collects the padding nodes.
            rep = torch.zeros(items.shape[0], self.n_items + 1, dtype=r.dtype).scatter_add(1, items, p_rep)[:, 1:]
            gate = torch.sigmoid(self.rep_gate(s))
            p = gate * rep + (1 - gate) * torch.softmax(scores, 1)
            scores = torch.log(p + 1e-12)
        return s, scores
