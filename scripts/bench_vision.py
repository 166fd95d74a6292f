"""onnxruntime side of scripts/bench-vision: times the three models on the inputs that
`kankan bench vision` wrote (raw RGB bytes, preprocessed here exactly as kankan-vision does),
one thread, and compares the person scores with tract's."""
import os
import sys
import time

import numpy as np
import onnxruntime as ort

MEAN_BGR = np.array([103.53, 116.28, 123.675], np.float32)
STD_BGR = np.array([57.375, 57.12, 58.395], np.float32)


def session(path):
    o = ort.SessionOptions()
    o.intra_op_num_threads = 1
    o.inter_op_num_threads = 1
    o.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    o.log_severity_level = 3
    return ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])


def frames(path, side):
    raw = np.fromfile(path, np.uint8)
    return raw.reshape(-1, side, side, 3) if raw.size else raw.reshape(0, side, side, 3)


def timed(sess, inputs):
    name = sess.get_inputs()[0].name
    sess.run(None, {name: inputs[0]})  # warm-up
    ms, outs = [], []
    for x in inputs:
        t = time.perf_counter()
        outs.append(sess.run(None, {name: x}))
        ms.append((time.perf_counter() - t) * 1e3)
    return float(np.mean(ms)), outs


def main(models, work):
    person = frames(os.path.join(work, "person-inputs.rgb"), 416)
    x = [((f[:, :, ::-1].astype(np.float32) - MEAN_BGR) / STD_BGR).transpose(2, 0, 1)[None].copy() for f in person]
    ms, outs = timed(session(os.path.join(models, "person.onnx")), x)
    print("person_ms %.2f" % ms)
    best = [max(float(o[i][0, :, 0].max()) for i in range(3)) for o in outs]
    best = [b if b >= 0.1 else 0.0 for b in best]  # the bench decodes from 0.1 up
    tract_file = os.path.join(work, "tract-person-best.txt")
    if os.path.exists(tract_file):
        tract = [float(v) for v in open(tract_file).read().split()]
        if len(tract) == len(best):
            print("person_best_score_max_abs_diff %.6f" % max(abs(a - b) for a, b in zip(tract, best)))
    faces = frames(os.path.join(work, "face-inputs.rgb"), 256)
    if len(faces):
        x = [(f.astype(np.float32) / 127.5 - 1.0)[None] for f in faces]
        ms, _ = timed(session(os.path.join(models, "face-detect.onnx")), x)
        print("face_detect_ms %.2f" % ms)
    chips = frames(os.path.join(work, "face-chips.rgb"), 150)
    if len(chips):
        x = [c.astype(np.float32)[None] for c in chips]
        ms, _ = timed(session(os.path.join(models, "face-embed.onnx")), x)
        print("face_embed_ms %.2f" % ms)
    print("onnxruntime %s" % ort.__version__)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
