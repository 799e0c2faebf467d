"""Builds the benchmark encoder: a BERT-sized model with random weights.

The same shape as the encoder in ../shared/docs/measured-baselines.md
(30522x256 embeddings, 4 layers, hidden 256, 4 heads, FFN 1024), exported in
the Hugging Face layout (input_ids, attention_mask, token_type_ids ->
last_hidden_state). Weights are random: benchmarks measure speed, not
quality. Output: build/bench/models/bench-encoder/{config.yaml,1/model.onnx}.

Run: /usr/bin/python3 scripts/bench/make_encoder.py
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "encoder"))
from model import BertEncoder, EncoderConfig  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def main():
    torch.manual_seed(7)
    cfg = EncoderConfig(vocab_size=30522, hidden=256, layers=4, heads=4, ffn=1024, max_positions=128, dropout=0.0)
    model = BertEncoder(cfg).eval()
    out_dir = os.path.join(ROOT, "build", "bench", "models", "bench-encoder")
    os.makedirs(os.path.join(out_dir, "1"), exist_ok=True)
    ids = torch.randint(1000, 2000, (2, 16))
    mask = torch.ones_like(ids)
    tt = torch.zeros_like(ids)
    path = os.path.join(out_dir, "1", "model.onnx")
    torch.onnx.export(
        model, (ids, mask, tt), path,
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["last_hidden_state"],
        dynamic_axes={n: {0: "batch", 1: "seq"} for n in ["input_ids", "attention_mask", "token_type_ids", "last_hidden_state"]},
        opset_version=14,
    )
    print("wrote", path)


if __name__ == "__main__":
    main()
