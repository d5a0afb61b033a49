"""Tiny ONNX models built in the tests (onnx.helper), whose outputs are known functions of the
input: a "YOLO" detector that boxes the bright pixels, and a "classifier" of redness."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
BRIGHT = 0.8  # mean RGB above this is a "person" pixel for the fake detector


class _Graph:
    """A small node-list builder with fresh names."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.n = 0

    def const(self, value: np.ndarray | float) -> str:
        self.n += 1
        name = f"c{self.n}"
        self.inits.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name

    def const_i64(self, value: list[int]) -> str:
        self.n += 1
        name = f"i{self.n}"
        self.inits.append(numpy_helper.from_array(np.asarray(value, np.int64), name))
        return name

    def op(self, kind: str, *inputs: str, **attrs: object) -> str:
        self.n += 1
        out = f"t{self.n}"
        self.nodes.append(helper.make_node(kind, list(inputs), [out], **attrs))
        return out

    def save(self, path: Path, inp: onnx.ValueInfoProto, out_name: str, out_shape: list) -> Path:
        self.nodes.append(helper.make_node("Identity", [out_name], ["output0"]))
        out = helper.make_tensor_value_info("output0", TensorProto.FLOAT, out_shape)
        graph = helper.make_graph(self.nodes, "tiny", [inp], [out], self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        onnx.save(model, str(path))
        return path


def _bright_box(g: _Graph, size: int, bright: float) -> tuple[str, str, str, str, str]:
    """(cx, cy, w, h, present) of the bright pixels' bounding box, each 1 x 1, input pixels."""
    grey = g.op("ReduceMean", "images", axes=[1], keepdims=1)  # 1 x 1 x S x S
    mask = g.op("Cast", g.op("Greater", grey, g.const(bright)), to=TensorProto.FLOAT)
    idx = g.const(np.arange(size, dtype=np.float32))
    big = g.const(1e4)
    edges = []
    for axis in (2, 3):  # columns (reduce rows), then rows (reduce columns)
        line = g.op("ReduceMax", mask, axes=[axis], keepdims=0)  # 1 x 1 x S
        hi = g.op(
            "ReduceMax", g.op("Mul", line, g.op("Add", idx, g.const(1.0))), axes=[2], keepdims=0
        )
        off = g.op("Mul", g.op("Sub", g.const(1.0), line), big)
        lo = g.op("ReduceMin", g.op("Add", g.op("Mul", line, idx), off), axes=[2], keepdims=0)
        edges.append((lo, hi))
    (x0, x1), (y0, y1) = edges
    half = g.const(0.5)
    cx = g.op("Mul", g.op("Add", x0, x1), half)
    cy = g.op("Mul", g.op("Add", y0, y1), half)
    present = g.op("ReduceMax", mask, axes=[2, 3], keepdims=0)  # 1 x 1
    return cx, cy, g.op("Sub", x1, x0), g.op("Sub", y1, y0), present


def save_fake_yolo(
    path: Path,
    *,
    layout: str,
    size: int = 64,
    nc: int = 3,
    n: int = 40,
    pixel_max: float = 1.0,
    normalized: bool = False,
) -> Path:
    """A "YOLO" export: ``images`` 1 x 3 x S x S -> ``output0`` in the v8, v8t or v5 layout.

    Candidates: the bright box as class 0 (conf 0.9), the same box shifted 2 px as class 0
    (0.8: NMS removes it), the same box as class 1 (0.7: class-wise NMS keeps it), a fixed box
    of class 2 at conf 0.2 (below threshold), then zero rows. ``pixel_max``: the input's white
    (255 for YOLOX); ``normalized``: boxes as fractions of the input side (RT-DETR).
    """
    g = _Graph()
    cx, cy, w, h, present = _bright_box(g, size, BRIGHT * pixel_max)
    if normalized:
        inv = g.const(1.0 / size)
        cx, cy, w, h = (g.op("Mul", v, inv) for v in (cx, cy, w, h))
    two = g.const(2.0)
    rows = []
    two = g.const(2.0 / size) if normalized else two
    for dx, cls, conf in ((None, 0, 0.9), (two, 0, 0.8), (None, 1, 0.7)):
        x = cx if dx is None else g.op("Add", cx, dx)
        s = g.op("Mul", present, g.const(conf))
        onehot = [g.op("Mul", present, g.const(1.0 if k == cls else 0.0)) for k in range(nc)]
        if layout == "v5":
            parts = [x, cy, w, h, s] + onehot
        else:
            parts = [x, cy, w, h] + [
                g.op("Mul", s, g.const(1.0 if k == cls else 0.0)) for k in range(nc)
            ]
        rows.append(g.op("Unsqueeze", g.op("Concat", *parts, axis=1), g.const_i64([1])))
    width = (5 if layout == "v5" else 4) + nc
    decoy = np.zeros((1, 1, width), np.float32)
    decoy[0, 0, :4] = np.array([10, 10, 8, 8]) / (size if normalized else 1)
    if layout == "v5":
        decoy[0, 0, 4], decoy[0, 0, 5 + 2] = 1.0, 0.2
    else:
        decoy[0, 0, 4 + 2] = 0.2
    rows.append(g.const(decoy))
    rows.append(g.const(np.zeros((1, n - 4, width), np.float32)))
    out = g.op("Concat", *rows, axis=1)  # 1 x N x C
    shape = [1, n, width]
    if layout == "v8":
        out = g.op("Transpose", out, perm=[0, 2, 1])
        shape = [1, width, n]
    inp = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, size, size])
    return g.save(path, inp, out, shape)


def save_red_classifier(path: Path, *, size: int = 32, probabilities: bool = False) -> Path:
    """``input`` 1 x 3 x S x S RGB -> 2 values: logit = 10 x (mean R - mean G) - 0.5 for the
    first label and its negative for the second (a softmax of those with ``probabilities``)."""
    g = _Graph()
    mean = g.op("ReduceMean", "input", axes=[2, 3], keepdims=0)  # 1 x 3
    red = g.op("Gather", mean, g.const_i64([0]), axis=1)  # 1 x 1
    green = g.op("Gather", mean, g.const_i64([1]), axis=1)
    logit = g.op("Sub", g.op("Mul", g.op("Sub", red, green), g.const(10.0)), g.const(0.5))
    out = g.op("Concat", logit, g.op("Neg", logit), axis=1)  # 1 x 2
    if probabilities:
        out = g.op("Softmax", out, axis=1)
    inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, size, size])
    return g.save(path, inp, out, ["batch", 2])
