#!/usr/bin/python3
"""INT8 dynamic quantization of aisle's query encoder: model.onnx -> model.int8.onnx, and its evaluation.

  /usr/bin/python3 scripts/encoder/quantize.py [MODEL_DIR]                 # models/query-encoder by default
  /usr/bin/python3 scripts/encoder/quantize.py --eval --dataset instacart \\
      build/encoder/instacart/query-encoder-instacart                      # + FP32 vs INT8 retrieval tables

ONNX Runtime's Python quantizer is not installable here (no PyPI), so the graph is written with
python3-onnx alone, as ONNX Runtime's own BERT fusions plus its dynamic quantizer would leave it,
from `com.microsoft` contrib operators (ONNX Runtime's CPU kernels; docs/ContribOperators.md):

    Cast(ids, types, mask -> int32)
    EmbedLayerNormalization(word + position + token type, LayerNorm)
    per layer:
      DynamicQuantizeLinear(x) -> QAttention(x_u8, W_qkv s8 [hidden, 3*hidden], mask)  # one GEMM for Q, K, V
      DynamicQuantizeMatMul(+bias)       -> SkipLayerNormalization(+ x)                  # attention output
      DynamicQuantizeMatMul -> FastGelu(+bias) -> DynamicQuantizeMatMul(+bias) -> SkipLayerNormalization

Weights are int8, symmetric **per output column** (zero point 0); activations uint8 per tensor,
quantized at run time. The attention core (softmax(QK'/sqrt(d) + mask) V), LayerNorm, GELU and the
embedding tables stay FP32. FastGelu is GELU's tanh form, not the erf form the FP32 graph uses: it
costs about half as much in ONNX Runtime, and the torch emulation below computes it too. ONNX
Runtime's session optimizer finds only LayerNormalization, BiasGelu and FusedMatMul in the exported
graph, not the attention, skip-LayerNorm or embedding fusions (checked with
SessionOptions.optimized_model_filepath), so writing them here is what makes the non-GEMM part
cheaper (BENCHMARKS.md §8). The served file is chosen by the model's config:
`default_model_filename: model.int8.onnx` (docs/models-encoder.md, "INT8").

--eval loads the FP32 weights back from model.onnx into scripts/encoder/model.py's torch module
and runs train_encoder.py's evaluation twice: as FP32, then with model.INT8 on, which computes
what the quantized graph computes (same rounding, same per-tensor activation range per batch,
tanh GELU); ONNX Runtime's output matched it to 2.5e-7 on the Groceries golden texts
(server/int8_test.go bounds it at 1e-4).
"""

import argparse
import json
import os
import sys

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
REPO = os.path.dirname(os.path.dirname(HERE))

import model as M  # noqa: E402


def log(*a):
    print(*a, flush=True)


MS = "com.microsoft"
HEADS = 4  # scripts/encoder/model.py EncoderConfig default; the ONNX graph does not record it


def _qweight(w):
    """MatMul weight [K, N] -> (int8 [K, N], float32 scale [N]): symmetric per output column, zero point 0."""
    w = w.astype(np.float32)
    wscale = np.maximum(np.abs(w).max(axis=0) / 127.0, 1e-12).astype(np.float32)
    return np.clip(np.round(w / wscale), -127, 127).astype(np.int8), wscale


def quantize(src, dst, fp32=False):
    """Writes dst, the fused INT8 graph of the FP32 encoder at src (module docstring). Returns the
    count of weight MatMuls quantized (12: Q, K, V, attention output, FFN in and out per layer).
    fp32: the same fused graph with the FP32 weights instead (Attention, MatMul + Add), a speed
    reference that separates the fusion's gain from int8's (BENCHMARKS.md §8); never served."""
    fp = onnx.load(src)
    vocab = next(i for i in fp.graph.initializer if i.name == "word.weight").dims[0]
    sd = {k: v.detach().numpy() for k, v in load_torch(src, vocab).state_dict().items()}
    layers = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("layers."))
    inits, nodes = [], []

    def init(name, arr):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(op, ins, out, name, domain="", **attrs):
        nodes.append(helper.make_node(op, ins, out if isinstance(out, list) else [out], name=name, domain=domain, **attrs))
        return nodes[-1].output[0]

    def ln(x, skip, prefix, out):
        return node("SkipLayerNormalization", [x, skip, init(prefix + ".weight", sd[prefix + ".weight"]), init(prefix + ".bias", sd[prefix + ".bias"])],
                    out, "/%s/SkipLayerNormalization" % prefix, MS, epsilon=M.LN_EPS)

    def qmatmul(x, prefix, out, bias=True):
        if fp32:
            y = node("MatMul", [x, init(prefix + ".weight_t", sd[prefix + ".weight"].T)], out + ("_nobias" if bias else ""), "/%s/MatMul" % prefix)
            return node("Add", [y, init(prefix + ".bias", sd[prefix + ".bias"])], out, "/%s/Add" % prefix) if bias else y
        wq, ws = _qweight(sd[prefix + ".weight"].T)  # torch Linear keeps [out, in]
        ins = [x, init(prefix + ".weight_int8", wq), init(prefix + ".weight_scale", ws), ""]
        if bias:
            ins.append(init(prefix + ".bias", sd[prefix + ".bias"]))
        return node("DynamicQuantizeMatMul", ins, out, "/%s/DynamicQuantizeMatMul" % prefix, MS)

    # The contrib ops take int32 ids and mask.
    for name in ("input_ids", "token_type_ids", "attention_mask"):
        node("Cast", [name], name + "_int32", "/Cast_" + name, to=TensorProto.INT32)
    x = node("EmbedLayerNormalization",
             ["input_ids_int32", "token_type_ids_int32", init("word.weight", sd["word.weight"]),
              init("position.weight", sd["position.weight"]), init("token_type.weight", sd["token_type.weight"]),
              init("ln.weight", sd["ln.weight"]), init("ln.bias", sd["ln.bias"])],
             ["/embeddings", "/mask_index"], "/EmbedLayerNormalization", MS, epsilon=M.LN_EPS)
    for i in range(layers):
        p, a = "layers.%d" % i, "layers.%d.attn" % i
        # Q, K and V read the same input: one quantization of it and one [hidden, 3*hidden] GEMM.
        # The raw [batch, seq] mask keeps the FP32 graph's additive -10000 on every 0, wherever it is.
        wqkv = np.concatenate([sd["%s.%s.weight" % (a, k)].T for k in ("query", "key", "value")], axis=1)
        bqkv = np.concatenate([sd["%s.%s.bias" % (a, k)] for k in ("query", "key", "value")])
        if fp32:
            ctx = node("Attention", [x, init(a + ".qkv.weight", wqkv), init(a + ".qkv.bias", bqkv), "attention_mask_int32"],
                       "/%s/context" % a, "/%s/Attention" % a, MS, num_heads=HEADS)
        else:
            wq, ws = _qweight(wqkv)
            xq = ["/%s/x_uint8" % p, "/%s/x_scale" % p, "/%s/x_zero_point" % p]
            node("DynamicQuantizeLinear", [x], xq, "/%s/DynamicQuantizeLinear" % p)
            ctx = node("QAttention", [xq[0], init(a + ".qkv.weight_int8", wq), init(a + ".qkv.bias", bqkv), xq[1],
                                      init(a + ".qkv.weight_scale", ws), "attention_mask_int32", xq[2]],
                       "/%s/context" % a, "/%s/QAttention" % a, MS, num_heads=HEADS)
        x1 = ln(qmatmul(ctx, a + ".out", "/%s/out" % a), x, p + ".ln1", "/%s/ln1" % p)
        h = qmatmul(x1, p + ".ff1", "/%s/ff1" % p, bias=False)
        g = node("FastGelu", [h, init(p + ".ff1.bias", sd[p + ".ff1.bias"])], "/%s/gelu" % p, "/%s/FastGelu" % p, MS)
        out = "last_hidden_state" if i == layers - 1 else "/%s/output" % p
        x = ln(qmatmul(g, p + ".ff2", "/%s/ff2" % p), x1, p + ".ln2", out)
    graph = helper.make_graph(nodes, fp.graph.name, list(fp.graph.input), list(fp.graph.output), inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14), helper.make_opsetid(MS, 1)],
                          producer_name="aisle scripts/encoder/quantize.py")
    m.ir_version = fp.ir_version
    onnx.checker.check_model(m)
    onnx.save(m, dst)
    return 6 * layers


def load_torch(onnx_path, vocab_size, heads=HEADS):
    """The torch BertEncoder whose weights are model.onnx's initializers (MatMul weights matched to
    their Linear through the bias the following Add reads)."""
    m = onnx.load(onnx_path)
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    consumers = {}
    for n in m.graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    state = {k: torch.from_numpy(v.copy()) for k, v in inits.items() if not k.startswith("onnx::")}
    for n in m.graph.node:
        if n.op_type == "MatMul" and n.input[1] in inits:
            adds = [c for c in consumers.get(n.output[0], []) if c.op_type == "Add"]
            bias = next(i for a in adds for i in a.input if i.endswith(".bias"))
            state[bias[: -len(".bias")] + ".weight"] = torch.from_numpy(inits[n.input[1]].T.copy())
    hidden = state["word.weight"].shape[1]
    layers = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("layers."))
    cfg = M.EncoderConfig(vocab_size, hidden=hidden, layers=layers, heads=heads, ffn=state["layers.0.ff1.weight"].shape[0],
                          max_positions=state["position.weight"].shape[0])
    model = M.BertEncoder(cfg)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise SystemExit("quantize.py: weights do not match the torch module: missing %s unexpected %s" % (missing, unexpected))
    return model.eval()


@torch.no_grad()
def write_golden_int8(model_dir):
    """golden_embeddings.int8.jsonl: each golden text's embedding as the INT8 graph computes it
    alone in a batch (model.INT8 emulation), so server/int8_test.go checks ONNX Runtime's INT8
    kernels against the emulation the quality figures come from."""
    with open(os.path.join(model_dir, "vocab.txt"), encoding="utf-8") as f:
        n = sum(1 for _ in f)
    model = load_torch(os.path.join(model_dir, "1", "model.onnx"), n)
    src, dst = os.path.join(model_dir, "golden_embeddings.jsonl"), os.path.join(model_dir, "golden_embeddings.int8.jsonl")
    M.INT8["on"] = True
    try:
        with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8", newline="\n") as w:
            for line in f:
                g = json.loads(line)
                x = torch.tensor([g["input_ids"]])
                m = torch.ones_like(x)
                emb = M.mean_pool(model(x, m, torch.zeros_like(x)), m)[0].numpy().astype(np.float32)
                w.write(json.dumps({"text": g["text"], "input_ids": g["input_ids"], "embedding": [float(v) for v in emb]}, ensure_ascii=False) + "\n")
    finally:
        M.INT8["on"] = False
    log("golden INT8: %s" % dst)


def evaluate_both(model_dir, dataset, data, seed):
    import train_encoder as T
    from bert_tokenizer import BertTokenizer
    from data import load_groceries, load_instacart, split_holdout

    with open(os.path.join(model_dir, "vocab.txt"), encoding="utf-8") as f:
        tokens = [ln.rstrip("\n") for ln in f]
    tok = BertTokenizer(tokens)
    model = load_torch(os.path.join(model_dir, "1", "model.onnx"), len(tokens))
    if dataset == "instacart":
        items, _, _ = load_instacart(os.path.join(data, "instacart"))
        _, held = split_holdout(len(items), 0.10, seed)
        fast = True
    else:
        items = load_groceries(os.path.join(data, "groceries"))
        held, fast = list(range(len(items))), False
    out = {}
    for prec in ("fp32", "int8"):
        M.INT8["on"] = prec == "int8"
        out[prec] = T.evaluate(model, tok, items, held, seed, fast)
    M.INT8["on"] = False
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir", nargs="?", default=os.path.join(REPO, "models", "query-encoder"))
    ap.add_argument("--eval", action="store_true", help="FP32 vs INT8 retrieval evaluation (needs ../shared/data)")
    ap.add_argument("--dataset", choices=["groceries", "instacart"], default="groceries")
    ap.add_argument("--data", default=os.path.join(os.path.dirname(REPO), "shared", "data"))
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--build", default=os.path.join(REPO, "build", "encoder"))
    ap.add_argument("--fused-fp32", metavar="PATH", help="also write the fused graph with FP32 weights to PATH (speed reference, never served)")
    args = ap.parse_args()
    torch.set_num_threads(1)

    src = os.path.join(args.model_dir, "1", "model.onnx")
    dst = os.path.join(args.model_dir, "1", "model.int8.onnx")
    n = quantize(src, dst)
    log("quantize: %d MatMuls -> INT8, %s (%d bytes) from %s (%d bytes)" % (n, dst, os.path.getsize(dst), src, os.path.getsize(src)))
    if args.fused_fp32:
        quantize(src, args.fused_fp32, fp32=True)
        log("fused FP32 reference: %s" % args.fused_fp32)
    if os.path.exists(os.path.join(args.model_dir, "golden_embeddings.jsonl")):
        write_golden_int8(args.model_dir)
    if not args.eval:
        return
    import train_encoder as T

    res = evaluate_both(args.model_dir, args.dataset, args.data, args.seed)
    build = os.path.join(args.build, args.dataset)
    os.makedirs(build, exist_ok=True)
    md = "".join(T.eval_table(r, "%s %s" % (args.dataset, prec)) + "\n" for prec, r in res.items())
    with open(os.path.join(build, "eval-int8.md"), "w", encoding="utf-8") as f:
        f.write(md)
    with open(os.path.join(build, "eval-int8.json"), "w", encoding="utf-8") as f:
        json.dump(res, f, indent=1)
    log(md)


if __name__ == "__main__":
    main()
