"""Builds an ONNX model of dlib's face recognition ResNet (dlib_face_recognition_resnet_model_v1,
CC0) from the uint8-quantised weights that @vladmandic/face-api ships
(model/face_recognition_model.bin + its weights manifest).

usage: dlib_resnet_to_onnx.py FACE_API_MODEL_DIR OUT.onnx

The network is defined in face-api's code (src/faceRecognitionNet), not in a graph file, so
its layers are laid out here: a 7x7/2 convolution, a 3x3/2 max pool, residual blocks of
32, 64, 128 and 256 channels (the "down" blocks halve the size; their shortcut is a 2x2
average pool, zero-padded in channels), a global average and a 256x128 matrix. Every
convolution is followed by its bias and a per-channel scale and shift (dlib's affine layer).
Input: [1, 150, 150, 3] RGB 0..255 (NHWC). Output "descriptor": [1, 128].
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tfjs_weights import read_weights  # noqa: E402

MEAN_RGB = [122.782, 117.001, 104.298]


class Net:
    def __init__(self, weights):
        self.w, self.nodes, self.inits, self.n = weights, [], [], 0

    def const(self, value):
        self.n += 1
        name = "c%d" % self.n
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value, dtype=value.dtype), name))
        return name

    def op(self, kind, inputs, **attrs):
        self.n += 1
        out = "%s_%d" % (kind.lower(), self.n)
        self.nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def conv(self, x, prefix, stride, relu, same):
        filt = self.w[prefix + "/conv/filters"]              # HWIO
        attrs = dict(strides=[stride, stride], kernel_shape=list(filt.shape[:2]))
        if same:
            attrs["auto_pad"] = "SAME_UPPER"
        else:
            attrs["pads"] = [0, 0, 0, 0]
        y = self.op("Conv", [x, self.const(filt.transpose(3, 2, 0, 1).astype(np.float32)),
                             self.const(self.w[prefix + "/conv/bias"].astype(np.float32))], **attrs)
        scale = self.w[prefix + "/scale/weights"].astype(np.float32).reshape(1, -1, 1, 1)
        shift = self.w[prefix + "/scale/biases"].astype(np.float32).reshape(1, -1, 1, 1)
        y = self.op("Add", [self.op("Mul", [y, self.const(scale)]), self.const(shift)])
        return self.op("Relu", [y]) if relu else y

    def residual(self, x, prefix):
        y = self.conv(x, prefix + "/conv1", 1, True, True)
        y = self.conv(y, prefix + "/conv2", 1, False, True)
        return self.op("Relu", [self.op("Add", [y, x])])

    def residual_down(self, x, prefix, channels, size):
        y = self.conv(x, prefix + "/conv1", 2, True, False)
        y = self.conv(y, prefix + "/conv2", 1, False, True)
        out_channels = self.w[prefix + "/conv1/conv/filters"].shape[3]
        conv_size, pool_size = (size - 3) // 2 + 1, size // 2
        pooled = self.op("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2])
        if conv_size != pool_size:      # face-api appends a zero row and a zero column
            grow = pool_size - conv_size
            y = self.op("Pad", [y, self.const(np.array([0, 0, 0, 0, 0, 0, grow, grow], np.int64))], mode="constant")
        if out_channels != channels:    # the shortcut's extra channels are zeros
            pad = np.array([0, 0, 0, 0, 0, out_channels - channels, 0, 0], np.int64)
            pooled = self.op("Pad", [pooled, self.const(pad)], mode="constant")
        return self.op("Relu", [self.op("Add", [pooled, y])]), out_channels, pool_size


def build(model_dir, out_path):
    with open(os.path.join(model_dir, "face_recognition_model-weights_manifest.json")) as f:
        manifest = json.load(f)
    net = Net(read_weights(manifest, model_dir))
    x = net.op("Transpose", ["input"], perm=[0, 3, 1, 2])
    mean = np.array(MEAN_RGB, np.float32).reshape(1, 3, 1, 1)
    x = net.op("Div", [net.op("Sub", [x, net.const(mean)]), net.const(np.array(255.0, np.float32))])
    x = net.conv(x, "conv32_down", 2, True, False)                       # 150 -> 72
    x = net.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2])      # 72 -> 35
    channels, size = 32, 35
    plan = [("conv32", 3, None), ("conv64", 3, "conv64_down"), ("conv128", 2, "conv128_down"),
            ("conv256", 2, "conv256_down")]
    for stem, blocks, down in plan:
        if down:
            x, channels, size = net.residual_down(x, down, channels, size)
        for i in range(1, blocks + 1):
            x = net.residual(x, "%s_%d" % (stem, i))
    x, channels, size = net.residual_down(x, "conv256_down_out", channels, size)
    x = net.op("ReduceMean", [x], axes=[2, 3], keepdims=0)
    x = net.op("MatMul", [x, net.const(net.w["fc"].astype(np.float32))])
    net.nodes.append(helper.make_node("Identity", [x], ["descriptor"]))
    graph = helper.make_graph(
        net.nodes, "dlib_face_resnet_v1",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 150, 150, 3])],
        [helper.make_tensor_value_info("descriptor", TensorProto.FLOAT, [1, 128])], net.inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="kankan-models")
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, out_path)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    build(sys.argv[1], sys.argv[2])
