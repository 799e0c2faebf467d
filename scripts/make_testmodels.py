#!/usr/bin/python3
"""Writes the small ONNX test models under testdata/onnx/.

Run from anywhere with Debian's Python:  /usr/bin/python3 scripts/make_testmodels.py

Uses only onnx and numpy (onnx.helper graphs, no torch). The output is
deterministic: every weight comes from a seeded numpy RNG, so re-running the
script reproduces the committed files byte for byte. Models use opset 17 and
IR version 8 so ONNX Runtime 1.24 (and older runtimes) load them.
"""

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8
SEED = 20240611

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "testdata", "onnx")

# KServe v2 datatype name -> ONNX element type, for the identity models.
IDENTITY_TYPES = [
    ("fp32", TensorProto.FLOAT),
    ("fp16", TensorProto.FLOAT16),
    ("fp64", TensorProto.DOUBLE),
    ("int8", TensorProto.INT8),
    ("int16", TensorProto.INT16),
    ("int32", TensorProto.INT32),
    ("int64", TensorProto.INT64),
    ("uint8", TensorProto.UINT8),
    ("uint16", TensorProto.UINT16),
    ("uint32", TensorProto.UINT32),
    ("uint64", TensorProto.UINT64),
    ("bool", TensorProto.BOOL),
    ("bytes", TensorProto.STRING),
]


def save(graph, filename, doc):
    """Wraps graph in a model, checks it and writes it to OUT/filename."""
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="aisle/scripts/make_testmodels.py",
        doc_string=doc,
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    path = os.path.join(OUT, filename)
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} bytes)")


def identity(name, elem_type):
    x = helper.make_tensor_value_info("x", elem_type, ["batch", 4])
    y = helper.make_tensor_value_info("y", elem_type, ["batch", 4])
    node = helper.make_node("Identity", ["x"], ["y"])
    graph = helper.make_graph([node], f"identity_{name}", [x], [y])
    save(graph, f"identity_{name}.onnx", f"y = x, {name.upper()} [batch, 4]")


def add_v2():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])
    one = numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one")
    node = helper.make_node("Add", ["x", "one"], ["y"])
    graph = helper.make_graph([node], "add_v2", [x], [y], initializer=[one])
    save(graph, "add_v2.onnx", "y = x + 1, FP32 [batch, 4]")


def mlp(rng):
    sizes = [64, 256, 256, 1]
    inits, nodes = [], []
    prev = "x"
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        scale = 1.0 / np.sqrt(fan_in)
        w = (rng.standard_normal((fan_out, fan_in)) * scale).astype(np.float32)
        b = (rng.standard_normal(fan_out) * 0.1).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        last = i == len(sizes) - 2
        out = "score" if last else f"gemm{i}"
        nodes.append(helper.make_node("Gemm", [prev, f"w{i}", f"b{i}"], [out], transB=1))
        if not last:
            nodes.append(helper.make_node("Relu", [out], [f"relu{i}"]))
            prev = f"relu{i}"
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 64])
    score = helper.make_tensor_value_info("score", TensorProto.FLOAT, ["batch", 1])
    graph = helper.make_graph(nodes, "mlp", [x], [score], initializer=inits)
    save(graph, "mlp.onnx", "score = MLP 64->256->256->1 with ReLU, FP32")


def seq_sum():
    ids = helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"])
    mask = helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])
    hidden = helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["batch", "seq", 2])
    total = helper.make_tensor_value_info("total", TensorProto.FLOAT, ["batch", 1])
    inits = [
        numpy_helper.from_array(np.array([-1], dtype=np.int64), "last_axis"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "seq_axis"),
    ]
    nodes = [
        helper.make_node("Mul", ["input_ids", "attention_mask"], ["masked"]),
        helper.make_node("Cast", ["masked"], ["masked_f"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["masked_f", "last_axis"], ["h0"]),
        helper.make_node("Unsqueeze", ["mask_f", "last_axis"], ["h1"]),
        helper.make_node("Concat", ["h0", "h1"], ["hidden"], axis=2),
        helper.make_node("ReduceSum", ["masked", "seq_axis"], ["total_i"], keepdims=1),
        helper.make_node("Cast", ["total_i"], ["total"], to=TensorProto.FLOAT),
    ]
    graph = helper.make_graph(nodes, "seq_sum", [ids, mask], [hidden, total], initializer=inits)
    save(
        graph,
        "seq_sum.onnx",
        "hidden[b,s] = [float(input_ids*mask), float(mask)]; total[b,0] = sum_s input_ids*mask",
    )


def two_inputs():
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, ["batch", 3])
    b = helper.make_tensor_value_info("b", TensorProto.INT32, ["batch", 3])
    c = helper.make_tensor_value_info("c", TensorProto.FLOAT, ["batch", 3])
    nodes = [
        helper.make_node("Cast", ["b"], ["b_f"], to=TensorProto.FLOAT),
        helper.make_node("Add", ["a", "b_f"], ["c"]),
    ]
    graph = helper.make_graph(nodes, "two_inputs", [a, b], [c])
    save(graph, "two_inputs.onnx", "c = a + float(b), a FP32 / b INT32 [batch, 3]")


def reshape3():
    """y = Reshape(x, [-1, 3]): fails inside the runtime unless 3 divides the element count."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [-1, 3])
    node = helper.make_node("Reshape", ["x", "shape"], ["y"])
    graph = helper.make_graph([node], "reshape3", [x], [y], initializer=[shape])
    save(graph, "reshape3.onnx", "y = reshape(x, [-1, 3]); a runtime error when 3 does not divide batch*4")


def shapes():
    """0-d (scalar), zero-element and string scalars: every unusual shape in one graph.

    The scalar output s2 comes first, so a runtime that fails on it would skip
    the outputs after it: the leak of issue 11.
    """
    s = helper.make_tensor_value_info("s", TensorProto.FLOAT, [])
    e = helper.make_tensor_value_info("e", TensorProto.FLOAT, ["n", 3])
    t = helper.make_tensor_value_info("t", TensorProto.STRING, [])
    s2 = helper.make_tensor_value_info("s2", TensorProto.FLOAT, [])
    v = helper.make_tensor_value_info("v", TensorProto.FLOAT, [3])
    e2 = helper.make_tensor_value_info("e2", TensorProto.FLOAT, ["n", 3])
    t2 = helper.make_tensor_value_info("t2", TensorProto.STRING, [])
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    three = helper.make_tensor("three", TensorProto.INT64, [1], [3])
    nodes = [
        helper.make_node("Mul", ["s", "two"], ["s2"]),
        helper.make_node("Expand", ["s", "three"], ["v"]),
        helper.make_node("Add", ["e", "two"], ["e2"]),
        helper.make_node("Identity", ["t"], ["t2"]),
    ]
    graph = helper.make_graph(nodes, "shapes", [s, e, t], [s2, v, e2, t2], initializer=[two, three])
    save(graph, "shapes.onnx", "s2 = 2s, v = [s s s], e2 = e + 2 (e may have 0 rows), t2 = t; s and t are 0-d")


def constant():
    """A model without inputs: c is a constant [2, 2] FP32, k a 0-d INT64, h a 0-d FP16."""
    c = helper.make_tensor_value_info("c", TensorProto.FLOAT, [2, 2])
    k = helper.make_tensor_value_info("k", TensorProto.INT64, [])
    h = helper.make_tensor_value_info("h", TensorProto.FLOAT16, [])
    nodes = [
        helper.make_node("Constant", [], ["c"], value=helper.make_tensor("cv", TensorProto.FLOAT, [2, 2], [1, 2, 3, 4])),
        helper.make_node("Constant", [], ["k"], value=helper.make_tensor("kv", TensorProto.INT64, [], [7])),
        helper.make_node("Constant", [], ["h"], value=helper.make_tensor("hv", TensorProto.FLOAT16, [], [1.5])),
    ]
    graph = helper.make_graph(nodes, "constant", [], [c, k, h])
    save(graph, "constant.onnx", "no inputs; c = [[1 2] [3 4]] FP32, k = 7 INT64 0-d, h = 1.5 FP16 0-d")


def sum_rows():
    """y = ReduceSum(x, axis 0): its output does not carry the batch, so it cannot be batched."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["k"])
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [0])
    node = helper.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=0)
    graph = helper.make_graph([node], "sum_rows", [x], [y], initializer=[axes])
    save(graph, "sum_rows.onnx", "y = sum of x over dim 0; y [4] does not carry the batch")


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(SEED)
    for name, elem_type in IDENTITY_TYPES:
        identity(name, elem_type)
    add_v2()
    mlp(rng)
    seq_sum()
    two_inputs()
    reshape3()
    shapes()
    constant()
    sum_rows()


if __name__ == "__main__":
    main()
