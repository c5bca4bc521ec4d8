"""Ship the darknet-tiny ImageNet classifier (TF.js layers format) under models/darknet-tiny/
with its outputs permuted into the standard synset-sorted class order, and write the card
models/darknet-tiny.json.

Usage (from the repository root):
  /usr/bin/python3 models/train/export_darknet.py --data ../shared/data
then measure and record its accuracy (Node, tfjs wasm):
  npm run eval-models -- --data ../shared/data --only darknet-tiny --write-accuracy

The source outputs logits in ILSVRC devkit order; darknettiny_index_to_standard_index.json
maps output i to standard index map[i]. Here the last conv's kernel and bias columns are
reordered (new column map[i] = old column i), so output j of the shipped model is standard
class j and nothing downstream needs the mapping. The accuracy entries of an existing card
are kept when the source topology and the weight bytes are unchanged.
"""
import argparse
import json
import os

import numpy as np

from export_common import MODELS_DIR, file_entry, sha256_file, write_card

NAME = "darknet-tiny"
HEAD = "conv2d_16"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True, help="the shared data folder (holds darknet-tiny/)")
    args = p.parse_args()
    src = os.path.join(args.data, "darknet-tiny")
    dst = os.path.join(MODELS_DIR, NAME)
    os.makedirs(dst, exist_ok=True)

    with open(os.path.join(src, "model.json")) as f:
        model = json.load(f)
    with open(os.path.join(src, "darknettiny_index_to_standard_index.json")) as f:
        mapping = json.load(f)
    if sorted(mapping) != list(range(1000)):
        raise ValueError("darknettiny_index_to_standard_index.json is not a permutation of 0..999")
    inverse = np.argsort(mapping)  # inverse[j] = the source output that is standard class j

    permuted = set()
    for group in model["weightsManifest"]:
        raw = b"".join(open(os.path.join(src, path), "rb").read() for path in group["paths"])
        out, offset = bytearray(), 0
        for w in group["weights"]:
            if w["dtype"] != "float32" or "quantization" in w:
                raise ValueError(f"{w['name']}: only unquantised float32 weights are handled")
            size = int(np.prod(w["shape"])) * 4
            values = np.frombuffer(raw[offset:offset + size], dtype=np.float32).reshape(w["shape"])
            offset += size
            if w["name"] in (f"{HEAD}/kernel", f"{HEAD}/bias"):
                if values.shape[-1] != 1000:
                    raise ValueError(f"{w['name']}: expected 1000 output columns, got {values.shape}")
                values = values[..., inverse]
                permuted.add(w["name"])
            out += values.astype(np.float32).tobytes()
        if offset != len(raw):
            raise ValueError(f"{group['paths']}: {len(raw)} bytes, manifest describes {offset}")
        if len(group["paths"]) != 1:
            raise ValueError(f"{group['paths']}: multi-shard groups are not handled")
        # A ".bin" name: dev servers (Vite) treat extensionless paths as JS modules.
        group["paths"] = [group["paths"][0] + ".bin"]
        with open(os.path.join(dst, group["paths"][0]), "wb") as f:
            f.write(bytes(out))
    if permuted != {f"{HEAD}/kernel", f"{HEAD}/bias"}:
        raise ValueError(f"{HEAD} kernel/bias not found in the manifest (found {sorted(permuted)})")
    with open(os.path.join(dst, "model.json"), "w") as f:
        json.dump(model, f)

    layers = model["modelTopology"]["model_config"]["config"]["layers"]
    n_bn = sum(l["class_name"] == "BatchNormalization" for l in layers)
    params = sum(int(np.prod(w["shape"])) for g in model["weightsManifest"] for w in g["weights"]
                 if not w["name"].endswith(("moving_mean", "moving_variance")))
    with open(os.path.join(args.data, "imagenet-val-subset", "synset_words.txt")) as f:
        class_names = [line.strip() for line in f if line.strip()]
    files = [file_entry(f"{NAME}/model.json", "model")] + [
        file_entry(f"{NAME}/{g['paths'][0]}", "weights") for g in model["weightsManifest"]]

    # Same source topology and same weight bytes: the same model, so its measured accuracy stays.
    source_sha = sha256_file(os.path.join(src, "model.json"))
    card_path = os.path.join(MODELS_DIR, f"{NAME}.json")
    accuracy = []
    if os.path.exists(card_path):
        with open(card_path) as f:
            old = json.load(f)
        weights_sha = lambda fs: [x["sha256"] for x in fs if x["role"] == "weights"]
        if old["source"]["modelJsonSha256"] == source_sha and weights_sha(old["files"]) == weights_sha(files):
            accuracy = old["accuracy"]
    write_card(NAME, {
        "status": "final",
        "task": "classification",
        "architecture": ("Darknet reference 'tiny' ImageNet classifier (Keras 2.1.6 / TF.js layers): 15 x "
                         "(conv without bias, BatchNorm eps 1e-3, LeakyReLU 0.1) with 4 2x2 max-pools, "
                         "a 1x1 conv with bias to 1000 channels, global average pooling; no softmax "
                         "(outputs are logits)"),
        "params": params,
        "batchNormLayers": n_bn,
        "format": "tfjs-layers",
        "input": {"height": 224, "width": 224, "channels": 3, "channelOrder": "RGB", "range": [0, 1],
                  "mean": None, "std": None,
                  "note": ("pixels / 255, RGB, no mean/std (measured: on 160 subset images [0,1] RGB gives "
                           "63.8% top-1, [-1,1] 1.9%, [0,255] 0%, BGR [0,1] 41.3%); the 227x227 subset "
                           "images are resized to 224x224 with tf.image.resizeBilinear (alignCorners false, halfPixelCenters false); 1,300 subset images: 69.3% top-1 / 89.8% top-5 with tf.loadLayersModel on the tfjs wasm backend")},
        "output": {"kind": "logits", "classes": 1000, "outputOrder": "standard"},
        "classNames": class_names,
        "files": files,
        "accuracy": accuracy,
        "source": {
            "data": "shared/data/darknet-tiny",
            "modelJsonSha256": source_sha,
            "labelMapSha256": sha256_file(os.path.join(src, "darknettiny_index_to_standard_index.json")),
            "change": (f"{HEAD}/kernel and {HEAD}/bias columns reordered by "
                       "darknettiny_index_to_standard_index.json so outputs are in standard order; "
                       "all other weights byte-identical; weight files renamed <name>.bin"),
        },
        "training": {"recipe": "not trained here: pretrained Darknet reference tiny model, imported as is"},
        "export": {"script": "models/train/export_darknet.py",
                   "command": "/usr/bin/python3 models/train/export_darknet.py --data ../shared/data"},
    })
    print(f"{NAME}: {len(files)} files, {params} params, {n_bn} BN layers")


if __name__ == "__main__":
    main()
