#!/usr/bin/python3
"""Writes the ONNX external-data test models under testdata/extdata/.

Run with Debian's Python:  /usr/bin/python3 scripts/make_extdata_models.py

Large exports keep their weights beside the graph (ONNX "external data": a
tensor whose data_location is EXTERNAL and whose external_data says
location/offset/length). The server must resolve those locations inside the
model version's own folder and refuse any that leave it. Three models:

- legit/model.onnx + legit/weights.bin: y = x @ W + b, W [4, 3] and b [3] read
  from weights.bin (W at offset 0, b at offset 48). Must load and answer.
- escape/model.onnx: y = Identity(secret), secret a UINT8 [64] tensor whose
  location is ../../../../../../../../etc/passwd. If it loaded, every
  inference would return the first 64 bytes of /etc/passwd. Must be refused.
- absolute/model.onnx: the same with location /etc/passwd. Must be refused.

The output is deterministic (fixed weights, no RNG), so re-running the script
reproduces the committed files byte for byte.
"""

import os

import numpy as np
import onnx
from onnx import TensorProto, helper

OPSET = 17
IR_VERSION = 8

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "testdata", "extdata")

# W[i][j] = (i*3 + j + 1) / 8 and b = [0.5, -1, 2]: exact in float32, so the
# Go test can compare with ==.
W = (np.arange(12, dtype=np.float32).reshape(4, 3) + 1) / 8
B = np.array([0.5, -1.0, 2.0], dtype=np.float32)


def external(name, elem_type, dims, location, offset, length):
    """A TensorProto whose bytes live outside the model file."""
    t = TensorProto()
    t.name = name
    t.data_type = elem_type
    t.dims.extend(dims)
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", str(offset)), ("length", str(length))):
        e = t.external_data.add()
        e.key, e.value = k, v
    return t


def save(graph, folder, doc, check):
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="aisle/scripts/make_extdata_models.py",
        doc_string=doc,
    )
    model.ir_version = IR_VERSION
    os.makedirs(os.path.join(OUT, folder), exist_ok=True)
    path = os.path.join(OUT, folder, "model.onnx")
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    # The checker, given a path, resolves external data beside the file. The
    # hostile models are not checked: the checker refuses them too.
    if check:
        onnx.checker.check_model(path, full_check=True)
    print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} bytes)")


def legit():
    w, b = W.tobytes(), B.tobytes()
    with open(os.path.join(OUT, "legit", "weights.bin"), "wb") as f:
        f.write(w + b)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])
    inits = [
        external("W", TensorProto.FLOAT, [4, 3], "weights.bin", 0, len(w)),
        external("b", TensorProto.FLOAT, [3], "weights.bin", len(w), len(b)),
    ]
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["xw"]),
        helper.make_node("Add", ["xw", "b"], ["y"]),
    ]
    save(helper.make_graph(nodes, "extdata_legit", [x], [y], initializer=inits),
         "legit", "y = x @ W + b, W and b in weights.bin beside the model", True)


def leak(folder, location):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("y", TensorProto.UINT8, [64])
    xo = helper.make_tensor_value_info("x_out", TensorProto.FLOAT, ["batch", 4])
    inits = [external("secret", TensorProto.UINT8, [64], location, 0, 64)]
    nodes = [
        helper.make_node("Identity", ["secret"], ["y"]),
        helper.make_node("Identity", ["x"], ["x_out"]),
    ]
    save(helper.make_graph(nodes, f"extdata_{folder}", [x], [y, xo], initializer=inits),
         folder, f"y = 64 bytes of {location}: a model that must be refused", False)


def main():
    os.makedirs(os.path.join(OUT, "legit"), exist_ok=True)
    legit()
    leak("escape", "../../../../../../../../etc/passwd")
    leak("absolute", "/etc/passwd")


if __name__ == "__main__":
    main()
