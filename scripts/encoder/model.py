"""A small BERT-architecture text encoder written out in plain PyTorch (no transformers).

Post-LN BERT: word + position + token-type embeddings -> LayerNorm(eps 1e-12) -> N layers of
[multi-head self-attention with an additive mask (1 - mask) * -10000 -> dropout -> residual ->
LayerNorm] and [Linear -> GELU(erf) -> Linear -> dropout -> residual -> LayerNorm].
forward(input_ids, attention_mask, token_type_ids) -> last_hidden_state [batch, seq, hidden].
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

LN_EPS = 1e-12
MASK_NEG = -10000.0


class EncoderConfig:
    def __init__(self, vocab_size, hidden=128, layers=2, heads=4, ffn=512, max_positions=64, type_vocab=2, dropout=0.1):
        self.vocab_size = vocab_size
        self.hidden = hidden
        self.layers = layers
        self.heads = heads
        self.ffn = ffn
        self.max_positions = max_positions
        self.type_vocab = type_vocab
        self.dropout = dropout

    def to_dict(self):
        return dict(self.__dict__)


class SelfAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.heads = cfg.heads
        self.head_dim = cfg.hidden // cfg.heads
        self.query = nn.Linear(cfg.hidden, cfg.hidden)
        self.key = nn.Linear(cfg.hidden, cfg.hidden)
        self.value = nn.Linear(cfg.hidden, cfg.hidden)
        self.out = nn.Linear(cfg.hidden, cfg.hidden)
        self.drop = nn.Dropout(cfg.dropout)

    def _split(self, x):
        b, s, _ = x.shape
        return x.view(b, s, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x, add_mask):
        q, k, v = self._split(linear(x, self.query)), self._split(linear(x, self.key)), self._split(linear(x, self.value))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim) + add_mask
        probs = self.drop(torch.softmax(scores, dim=-1))
        ctx = torch.matmul(probs, v).transpose(1, 2)
        ctx = ctx.reshape(ctx.shape[0], ctx.shape[1], -1)
        return linear(ctx, self.out)


class Layer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.attn = SelfAttention(cfg)
        self.ln1 = nn.LayerNorm(cfg.hidden, eps=LN_EPS)
        self.ff1 = nn.Linear(cfg.hidden, cfg.ffn)
        self.ff2 = nn.Linear(cfg.ffn, cfg.hidden)
        self.ln2 = nn.LayerNorm(cfg.hidden, eps=LN_EPS)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x, add_mask):
        x = self.ln1(x + self.drop(self.attn(x, add_mask)))
        h = linear(gelu(linear(x, self.ff1)), self.ff2)  # exact (erf) GELU; tanh form under INT8
        return self.ln2(x + self.drop(h))


class BertEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.word = nn.Embedding(cfg.vocab_size, cfg.hidden, padding_idx=0)
        self.position = nn.Embedding(cfg.max_positions, cfg.hidden)
        self.token_type = nn.Embedding(cfg.type_vocab, cfg.hidden)
        self.ln = nn.LayerNorm(cfg.hidden, eps=LN_EPS)
        self.drop = nn.Dropout(cfg.dropout)
        self.layers = nn.ModuleList([Layer(cfg) for _ in range(cfg.layers)])
        self.register_buffer("position_ids", torch.arange(cfg.max_positions, dtype=torch.long).unsqueeze(0), persistent=False)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)
        if isinstance(m, nn.Embedding) and m.padding_idx is not None:
            with torch.no_grad():
                m.weight[m.padding_idx].zero_()
        if isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    def forward(self, input_ids, attention_mask, token_type_ids):
        seq = input_ids.shape[1]
        pos = self.position_ids[:, :seq]
        x = self.word(input_ids) + self.position(pos) + self.token_type(token_type_ids)
        x = self.drop(self.ln(x))
        add_mask = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * MASK_NEG
        for layer in self.layers:
            x = layer(x, add_mask)
        return x


def mean_pool(hidden, mask, normalize=True):
    """Mean of hidden over positions with mask 1, then L2-normalised."""
    m = mask.to(hidden.dtype).unsqueeze(-1)
    s = (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)
    if normalize:
        s = F.normalize(s, p=2, dim=-1)
    return s


def _mk(t):
    return t.contiguous().to_mkldnn()


def _mkldnn_mm_t(a, b):
    """a @ b.T for 2-D float32 a [n, k], b [m, k] with oneDNN's GEMM."""
    return torch._C._nn.mkldnn_linear(_mk(a), _mk(b), None).to_dense()


class _FastLinear(torch.autograd.Function):
    """F.linear for 2-D inputs whose three GEMMs run in oneDNN instead of the system BLAS.

    Debian's python3-torch calls the reference BLAS for aten::mm (about 3 GFLOP/s on one
    core); oneDNN's JIT GEMM is an order of magnitude faster. Same maths, float32 rounding
    differs by ~1e-6 relative. Used for training and bulk evaluation only; ONNX export, the
    golden file and the committed item embeddings use plain F.linear.
    """

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        return _mkldnn_mm_t(x, w) + b

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        g = g.contiguous()
        gx = _mkldnn_mm_t(g, w.t())
        gw = _mkldnn_mm_t(g.t(), x.t())
        return gx, gw, g.sum(0)


FAST_LINEAR = {"on": False}


# INT8 emulation (scripts/encoder/quantize.py): when on, every Linear computes what the
# quantized ONNX graph computes (DynamicQuantizeLinear of the whole input tensor, an integer GEMM
# with the per-column int8 weights, rescale, bias) and GELU is the graph's tanh form (FastGelu),
# so the INT8 model is evaluated in torch.
INT8 = {"on": False}


def _int8_linear(x, layer):
    w = layer.weight.detach()  # [out, in]
    wscale = (w.abs().amax(dim=1) / 127.0).clamp(min=1e-12)  # per output column
    wq = torch.round(w / wscale[:, None]).clamp(-127, 127)
    lo, hi = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
    scale = (hi - lo) / 255.0 if hi > lo else 1.0
    zp = float(min(max(round(-lo / scale), 0), 255))  # round half to even, as ONNX
    xq = (torch.round(x / scale) + zp).clamp(0, 255) - zp
    shape = x.shape
    # Integer products summed in float32 are exact here: 255 * 127 * 512 < 2^24.
    y = _mkldnn_mm_t(xq.reshape(-1, shape[-1]), wq) * (scale * wscale) + layer.bias
    return y.view(*shape[:-1], y.shape[-1])


def gelu(x):
    """Exact (erf) GELU, or under INT8 the tanh approximation the quantized graph's FastGelu
    computes (0.5x(1 + tanh(0.79788456(x + 0.044715x^3)))), cheaper than erf in ONNX Runtime."""
    return F.gelu(x, approximate="tanh") if INT8["on"] else F.gelu(x)


def linear(x, layer):
    """layer(x) through oneDNN when FAST_LINEAR is on, else the plain nn.Linear."""
    if INT8["on"]:
        return _int8_linear(x, layer)
    if not FAST_LINEAR["on"]:
        return layer(x)
    shape = x.shape
    y = _FastLinear.apply(x.reshape(-1, shape[-1]), layer.weight, layer.bias)
    return y.view(*shape[:-1], y.shape[-1])
