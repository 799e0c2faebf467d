"""Builds the benchmark encoder: a BERT-sized model with random weights.

The same shape as the encoder in ../shared/docs/measured-baselines.md
(30522x256 embeddings, 4 layers, hidden 256, 4 heads, FFN 1024), with the
Hugging Face inputs (input_ids, attention_mask, token_type_ids) and mean
pooling in the graph -> embedding [batch, 256], like the baseline encoder. Weights are random: benchmarks measure speed, not
quality. Output: build/bench/models/bench-encoder/{config.yaml,1/model.onnx}.

Run: /usr/bin/python3 scripts/bench/make_encoder.py
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "encoder"))
from model import BertEncoder, EncoderConfig  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


class Pooled(torch.nn.Module):
    """Mean pooling over the mask inside the graph, as the measured baseline's encoder has it."""

    def __init__(self, enc):
        super().__init__()
        self.enc = enc

    def forward(self, input_ids, attention_mask, token_type_ids):
        h = self.enc(input_ids, attention_mask, token_type_ids)
        m = attention_mask.unsqueeze(-1).to(h.dtype)
        return (h * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)


def main():
    torch.manual_seed(7)
    cfg = EncoderConfig(vocab_size=30522, hidden=256, layers=4, heads=4, ffn=1024, max_positions=128, dropout=0.0)
    model = Pooled(BertEncoder(cfg)).eval()
    out_dir = os.path.join(ROOT, "build", "bench", "models", "bench-encoder")
    os.makedirs(os.path.join(out_dir, "1"), exist_ok=True)
    ids = torch.randint(1000, 2000, (2, 16))
    mask = torch.ones_like(ids)
    tt = torch.zeros_like(ids)
    path = os.path.join(out_dir, "1", "model.onnx")
    torch.onnx.export(
        model, (ids, mask, tt), path,
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["embedding"],
        dynamic_axes=dict({n: {0: "batch", 1: "seq"} for n in ["input_ids", "attention_mask", "token_type_ids"]}, embedding={0: "batch"}),
        opset_version=14,
    )
    print("wrote", path)


if __name__ == "__main__":
    main()
