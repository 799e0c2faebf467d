"""Builds two small, differently shaped BERT-family encoders for the drop-in tests.

Random weights, Hugging Face export layout, each with the default query
encoder's tokenizer.json and a config.yaml that only adds what
`aisle models inspect --config` suggests plus the text parameters:

- enc-a: hidden 32, 1 layer, 2 heads, inputs input_ids, attention_mask, token_type_ids;
- enc-b: hidden 48, 3 layers, 3 heads, inputs input_ids, attention_mask only
  (like DistilBERT exports), pooling cls, not normalised.

Each folder gets golden.jsonl: texts and torch's pooled outputs.
Run: /usr/bin/python3 scripts/make_test_encoders.py
"""
import json
import os
import shutil
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "encoder"))
from bert_tokenizer import BertTokenizer, load_vocab  # noqa: E402
from model import BertEncoder, EncoderConfig  # noqa: E402

TEXTS = ["whole milk", "milk eggs sugar", "Crème fraîche & baking soda!!", "", "organic gluten free bread " * 12,
         "2% reduced fat milk 1 gallon", "チョコレート", "paper towels, 6 rolls"]
MAX_LEN = 24


class NoTypes(torch.nn.Module):
    """An export without token_type_ids, as DistilBERT-style models have."""

    def __init__(self, enc):
        super().__init__()
        self.enc = enc

    def forward(self, input_ids, attention_mask):
        return self.enc(input_ids, attention_mask, torch.zeros_like(input_ids))


def export(name, model, input_names, pooling, normalize, tok, hidden, qdir):
    out = os.path.join(ROOT, "testdata", "encoders", name)
    os.makedirs(os.path.join(out, "1"), exist_ok=True)
    ids = torch.tensor([tok.encode("milk and eggs")])
    args = (ids, torch.ones_like(ids)) + ((torch.zeros_like(ids),) if len(input_names) == 3 else ())
    torch.onnx.export(model, args, os.path.join(out, "1", "model.onnx"), input_names=input_names,
                      output_names=["last_hidden_state"],
                      dynamic_axes={n: {0: "batch", 1: "seq"} for n in input_names + ["last_hidden_state"]},
                      opset_version=14)
    shutil.copy(os.path.join(qdir, "tokenizer.json"), os.path.join(out, "tokenizer.json"))
    with open(os.path.join(out, "config.yaml"), "w") as f:
        f.write("# made by scripts/make_test_encoders.py\nmax_batch_size: 16\ninputs:\n")
        for n in input_names:
            f.write("  - {name: %s, data_type: INT64, dims: [-1], ragged: true, pad_value: 0}\n" % n)
        f.write("outputs:\n  - {name: last_hidden_state, data_type: FP32, dims: [-1, %d], ragged: true}\n" % hidden)
        f.write("dynamic_batching: {max_queue_delay_microseconds: 200}\n")
        f.write("parameters: {tokenizer: tokenizer.json, max_seq_len: \"%d\", pooling: %s, normalize: \"%s\"}\n"
                % (MAX_LEN, pooling, "true" if normalize else "false"))
    with open(os.path.join(out, "golden.jsonl"), "w") as f:
        for text in TEXTS:
            ids = torch.tensor([tok.encode(text, max_len=MAX_LEN)])
            args = (ids, torch.ones_like(ids)) + ((torch.zeros_like(ids),) if len(input_names) == 3 else ())
            with torch.no_grad():
                h = model(*args)
            v = h[:, 0] if pooling == "cls" else h.mean(dim=1)
            if normalize:
                v = F.normalize(v, dim=-1)
            f.write(json.dumps({"text": text, "input_ids": ids[0].tolist(), "embedding": v[0].tolist()}) + "\n")
    print("wrote", out)


def main():
    torch.manual_seed(11)
    torch.set_num_threads(1)
    qdir = os.path.join(ROOT, "models", "query-encoder")
    tok = BertTokenizer(load_vocab(os.path.join(qdir, "vocab.txt")))
    vocab = len(tok.tokens)
    a = BertEncoder(EncoderConfig(vocab, hidden=32, layers=1, heads=2, ffn=64, max_positions=MAX_LEN, dropout=0.0)).eval()
    export("enc-a", a, ["input_ids", "attention_mask", "token_type_ids"], "mean", True, tok, 32, qdir)
    b = NoTypes(BertEncoder(EncoderConfig(vocab, hidden=48, layers=3, heads=3, ffn=96, max_positions=MAX_LEN, dropout=0.0)).eval())
    export("enc-b", b, ["input_ids", "attention_mask"], "cls", False, tok, 48, qdir)


if __name__ == "__main__":
    main()
