#!/usr/bin/python3
# Writes tests/data/onnx/fold_bn: Conv -> BatchNormalization -> Relu ->
# Flatten -> Gemm -> BatchNormalization, with weights as initializers (what
# trine folds), and test_data_set_0 computed here with numpy. Needs Debian's
# python3-onnx and python3-numpy; the files it writes are in the repository.
import os
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

rng = np.random.default_rng(7)
here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fold_bn")
os.makedirs(os.path.join(here, "test_data_set_0"), exist_ok=True)
f32 = np.float32
x = rng.standard_normal((2, 3, 6, 6)).astype(f32)
w = (rng.standard_normal((4, 3, 3, 3)) * 0.3).astype(f32)
b = rng.standard_normal(4).astype(f32)
bn1 = [rng.uniform(0.5, 1.5, 4), rng.standard_normal(4), rng.standard_normal(4) * 0.1,
       rng.uniform(0.5, 2.0, 4)]
w2 = (rng.standard_normal((144, 5)) * 0.1).astype(f32)
c2 = rng.standard_normal(5).astype(f32)
bn2 = [rng.uniform(0.5, 1.5, 5), rng.standard_normal(5), rng.standard_normal(5) * 0.1,
       rng.uniform(0.5, 2.0, 5)]
bn1 = [a.astype(f32) for a in bn1]
bn2 = [a.astype(f32) for a in bn2]
eps = 1e-5

def conv(x, w, b):
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    n, _, h, wd = x.shape
    y = np.zeros((n, w.shape[0], h, wd))
    for i in range(h):
        for j in range(wd):
            y[:, :, i, j] = np.tensordot(xp[:, :, i:i + 3, j:j + 3], w, axes=([1, 2, 3], [1, 2, 3]))
    return y + b.reshape(1, -1, 1, 1)

def bn(y, p, shape):
    s, t, m, v = [a.astype(np.float64).reshape(shape) for a in p]
    return (y - m) / np.sqrt(v + eps) * s + t

y = np.maximum(bn(conv(x, w, b), bn1, (1, 4, 1, 1)), 0).reshape(2, 144)
y = bn(y @ w2 + c2, bn2, (1, 5)).astype(f32)

inits = [numpy_helper.from_array(a, n) for a, n in
         [(w, "w"), (b, "b"), (w2, "w2"), (c2, "c2")] +
         list(zip(bn1, ["s1", "t1", "m1", "v1"])) + list(zip(bn2, ["s2", "t2", "m2", "v2"]))]
nodes = [
    helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
    helper.make_node("BatchNormalization", ["c", "s1", "t1", "m1", "v1"], ["n1"], epsilon=eps),
    helper.make_node("Relu", ["n1"], ["r"]),
    helper.make_node("Flatten", ["r"], ["f"]),
    helper.make_node("Gemm", ["f", "w2", "c2"], ["g"]),
    helper.make_node("BatchNormalization", ["g", "s2", "t2", "m2", "v2"], ["y"], epsilon=eps),
]
graph = helper.make_graph(nodes, "fold_bn",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 6, 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 5])], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
onnx.checker.check_model(model)
onnx.save(model, os.path.join(here, "model.onnx"))
for name, a in [("input_0", x), ("output_0", y)]:
    with open(os.path.join(here, "test_data_set_0", name + ".pb"), "wb") as f:
        f.write(numpy_helper.from_array(a).SerializeToString())
