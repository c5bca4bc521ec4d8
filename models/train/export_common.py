"""Helpers shared by the export_*.py scripts: ONNX export keeping BatchNormalization,
op-set checks, reference inputs/outputs for parity tests, sha256 and model-card writing."""
import base64
import datetime
import hashlib
import json
import os
import subprocess

import numpy as np
import onnx
import torch

MODELS_DIR = os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_entry(rel_path, role):
    """Card entry for a file given relative to models/."""
    path = os.path.join(MODELS_DIR, rel_path)
    return {"path": rel_path, "role": role, "bytes": os.path.getsize(path), "sha256": sha256_file(path)}


def untie_initializers(model):
    """The exporter merges parameters with equal values into one initializer plus Identity
    nodes (e.g. the biases of a residual block's last BN and its shortcut BN, which get equal
    gradients from zero init on). Give every such parameter its own initializer again, so
    test-time adaptation updates them as separately as PyTorch does."""
    inits = {t.name: t for t in model.graph.initializer}
    for node in list(model.graph.node):
        if node.op_type == "Identity" and node.input[0] in inits:
            copy = onnx.TensorProto()
            copy.CopyFrom(inits[node.input[0]])
            copy.name = node.output[0]
            model.graph.initializer.append(copy)
            model.graph.node.remove(node)


def export_onnx(model, example, path, allowed_ops):
    """Opset-13 export with BatchNormalization kept as nodes (eval mode: running statistics),
    dynamic batch axis; fails if the graph uses an op outside allowed_ops."""
    model.eval()
    torch.onnx.export(model, example, path, opset_version=13, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    graph = onnx.load(path)
    untie_initializers(graph)
    onnx.checker.check_model(graph)
    onnx.save(graph, path)
    ops = sorted({n.op_type for n in graph.graph.node})
    extra = set(ops) - set(allowed_ops)
    if extra:
        raise RuntimeError(f"{path}: unexpected ops {sorted(extra)} (allowed {sorted(allowed_ops)})")
    n_bn = sum(n.op_type == "BatchNormalization" for n in graph.graph.node)
    return ops, n_bn


def write_reference(path, model_file, images_u8, logits, stride=None):
    """Reference for parity tests: uint8 NCHW input (the model input is value / 255) and the
    float32 logits PyTorch computed, optionally subsampled with a per-axis stride."""
    out = logits.detach().numpy().astype(np.float32)
    if stride is not None:
        out = out[tuple(slice(None, None, s) for s in stride)]
    ref = {
        "model": model_file,
        "input": {"name": "input", "shape": list(images_u8.shape), "divisor": 255,
                  "uint8Base64": base64.b64encode(images_u8.numpy().astype(np.uint8).tobytes()).decode()},
        "output": {"name": "logits", "shape": list(logits.shape), "stride": stride or [1] * logits.dim(),
                   "sampledShape": list(out.shape), "values": [float(v) for v in out.flatten()]},
    }
    with open(path, "w") as f:
        json.dump(ref, f)


def git_commit():
    try:
        return subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], cwd=MODELS_DIR,
                                       text=True).strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def write_card(name, card):
    card = {"name": name, **card, "exportedAt": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "exportedFromCommit": git_commit()}
    with open(os.path.join(MODELS_DIR, f"{name}.json"), "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
