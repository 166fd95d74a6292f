"""Reads the weight shards of a TensorFlow.js model (graph model or layers manifest).

Each manifest group lists weights in order; their bytes follow one another in the group's
shard files. Quantised weights (uint8/uint16 affine, float16) are widened to float32.
"""
import os

import numpy as np

_PLAIN = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}


def read_weights(manifest, base_dir):
    """Returns {name: numpy array} for every weight of a `weightsManifest` list."""
    out = {}
    for group in manifest:
        data = b"".join(_read(os.path.join(base_dir, p)) for p in group["paths"])
        pos = 0
        for w in group["weights"]:
            shape = [int(s) for s in w["shape"]]
            count = int(np.prod(shape)) if shape else 1
            quant = w.get("quantization")
            if quant is None:
                dt = np.dtype(_PLAIN[w["dtype"]])
                arr = np.frombuffer(data, dt, count, pos)
                pos += dt.itemsize * count
            elif quant["dtype"] == "float16":
                arr = np.frombuffer(data, np.float16, count, pos).astype(np.float32)
                pos += 2 * count
            elif quant["dtype"] in ("uint8", "uint16"):
                dt = np.dtype(np.uint8 if quant["dtype"] == "uint8" else np.uint16)
                raw = np.frombuffer(data, dt, count, pos)
                pos += dt.itemsize * count
                arr = raw.astype(np.float32) * np.float32(quant["scale"]) + np.float32(quant["min"])
            else:
                raise SystemExit("unsupported quantisation %r for %s" % (quant["dtype"], w["name"]))
            out[w["name"]] = np.asarray(arr, dtype=_PLAIN[w["dtype"]]).reshape(shape)
        if pos != len(data):
            raise SystemExit("weight shards hold %d bytes, the manifest describes %d" % (len(data), pos))
    return out


def _read(path):
    with open(path, "rb") as f:
        return f.read()
