"""Export the CamVid segmenter (train_camvid.py) as ONNX + state_dict, reference logits and
the model card models/camvid-unet.json, with mIoU measured on the 233 test frames, the 101
val frames and the shipped sample frames (public/samples/camvid).

Usage (from the repository root):
  /usr/bin/python3 models/train/export_camvid.py --data ../shared/data \
      --run models/train/runs/camvid-unet

Takes the val-selected <run>/best.pt; the card is "final" once training finished (<run>/ckpt.pt
at the planned epoch, or <run>/final_state_dict.pt), else "interim".
"""
import argparse
import ast
import os

import torch

from camvid_data import IGNORE_INDEX, NUM_CLASSES, confusion, load_camvid, miou
from camvid_net import net_from_args
from export_common import MODELS_DIR, export_onnx, file_entry, write_card, write_reference
from precision import precision_text

NAME = "camvid-unet"
SAMPLE_DIR = os.path.join(MODELS_DIR, "..", "public", "samples")
ALLOWED_OPS = {"Conv", "BatchNormalization", "Relu", "MaxPool", "ConvTranspose", "Concat", "Add"}


def measure(model, images, labels):
    conf = torch.zeros(NUM_CLASSES, NUM_CLASSES, dtype=torch.long)
    with torch.no_grad():
        for i in range(0, len(images), 16):
            conf += confusion(model(images[i:i + 16].float() / 255).argmax(1), labels[i:i + 16])
    return miou(conf)


def budget_changes(run):
    """Epoch budgets of successive (resumed) invocations, from the args lines of train.log."""
    budgets, resumed, resumed_at = [], {}, 0
    with open(os.path.join(run, "train.log")) as f:
        for line in f:
            if line.startswith("resumed from epoch"):
                resumed_at = int(line.split()[-1])
            elif line.startswith("args "):
                epochs = ast.literal_eval(line[5:])["epochs"]
                if not budgets or budgets[-1] != epochs:
                    if budgets:
                        resumed[epochs] = resumed_at
                    budgets.append(epochs)
    return " -> ".join(f"{b}" + (f" (from epoch {resumed[b]})" if b in resumed else "") for b in budgets)


def entry(data, sample, count, result):
    m, per_class, pix = result
    return [{"data": data, "sample": sample, "metric": "miou", "count": count, "value": m,
             "perClass": per_class},
            {"data": data, "sample": sample, "metric": "pixel-accuracy", "count": count, "value": pix}]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True, help="the shared data folder (holds camvid/)")
    p.add_argument("--run", required=True)
    args = p.parse_args()
    torch.set_num_threads(1)

    best = torch.load(os.path.join(args.run, "best.pt"))
    ckpt = torch.load(os.path.join(args.run, "ckpt.pt"))
    train_args = ckpt["args"]
    finished = ckpt["epoch"] >= train_args["epochs"] or os.path.exists(
        os.path.join(args.run, "final_state_dict.pt"))
    status = "final" if finished else "interim"
    on_gpu = train_args.get("device", "cpu") == "cuda"
    model = net_from_args(train_args)
    model.load_state_dict(best["model"])
    widths = train_args.get("widths", "16,32,64,128").replace(",", "/")
    context = train_args.get("context", "")
    model.eval()

    onnx_rel, pt_rel = f"{NAME}.onnx", f"{NAME}.pt"
    ops, n_bn = export_onnx(model, torch.zeros(1, 3, 120, 160), os.path.join(MODELS_DIR, onnx_rel),
                            ALLOWED_OPS)
    torch.save(model.state_dict(), os.path.join(MODELS_DIR, pt_rel))

    sample_x, sample_y, sample_names = load_camvid(SAMPLE_DIR, "camvid")
    with torch.no_grad():
        ref_logits = model(sample_x[:1].float() / 255)
    ref_rel = f"reference/{NAME}.json"
    os.makedirs(os.path.join(MODELS_DIR, "reference"), exist_ok=True)
    write_reference(os.path.join(MODELS_DIR, ref_rel), onnx_rel, sample_x[:1], ref_logits,
                    stride=[1, 1, 7, 9])

    root = os.path.join(args.data, "camvid")
    test = measure(model, *load_camvid(root, "test")[:2])
    val = measure(model, *load_camvid(root, "val")[:2])
    sample = measure(model, sample_x, sample_y)
    print(f"{NAME} epoch {best['epoch']} ({status}): test mIoU {test[0]:.4f} pix {test[2]:.4f}, "
          f"val mIoU {val[0]:.4f}, sample mIoU {sample[0]:.4f}")

    with open(os.path.join(root, "classes.txt")) as f:
        rows = [line.split() for line in f if line.strip() and not line.startswith("#")]
    class_names = [r[1] for r in rows if int(r[0]) < NUM_CLASSES]
    write_card(NAME, {
        "status": status,
        "epoch": best["epoch"],
        "task": "segmentation",
        "architecture": ("U-Net-style encoder-decoder: 4 levels of 2x (3x3 conv, BatchNorm, ReLU), widths "
                         f"{widths}, 2x2 max-pool down, "
                         + (f"residual dilated 3x3 conv + BN + ReLU blocks (dilations {context}) at the "
                            "1/8-resolution bottleneck, " if context else "")
                         + "2x2 stride-2 transposed conv + BN + ReLU up, skip concatenation, 1x1 conv head; "
                         "no input normalisation step"),
        "params": sum(p.numel() for p in model.parameters()),
        "batchNormLayers": n_bn,
        "format": "onnx",
        "onnx": {"opset": 13, "ops": ops, "input": "input", "output": "logits",
                 "inputLayout": "NCHW", "outputLayout": "NCHW", "dynamicBatch": True},
        "input": {"height": 120, "width": 160, "channels": 3, "channelOrder": "RGB", "range": [0, 1],
                  "mean": None, "std": None,
                  "note": "pixels / 255; fully convolutional: any H, W divisible by 8 runs"},
        "output": {"kind": "logits", "classes": NUM_CLASSES},
        "classNames": class_names,
        "ignoreIndex": IGNORE_INDEX,
        "files": [file_entry(onnx_rel, "model"), file_entry(pt_rel, "pytorch-state-dict"),
                  file_entry(ref_rel, "reference")],
        "accuracy": (
            entry("shared/data/camvid test (233 frames, 160x120), mIoU over the 11 classes from the "
                  "summed confusion matrix, void pixels ignored", "camvid-test", 233, test)
            + entry("shared/data/camvid val (101 frames; used for model selection)", "camvid-val", 101, val)
            + entry(f"public/samples/camvid ({len(sample_names)} test frames: {', '.join(sample_names)})",
                    "camvid-sample", len(sample_names), sample)),
        "training": {
            "script": "models/train/train_camvid.py",
            "data": "shared/data/camvid train (367 frames); model selected by val mIoU",
            "recipe": (f"AdamW lr {train_args['lr']}, weight decay {train_args['wd']}, batch "
                       f"{train_args['batch']}, {train_args['warmup']} warm-up epochs then cosine to 0 over "
                       f"{train_args['epochs']} epochs; cross-entropy with ignore_index 11 and class weights "
                       f"1/ln({train_args['weight_c']} + class frequency) (normalised to mean 1); random "
                       f"scale {train_args['min_scale']}-{train_args['max_scale']} + crop/pad to 160x120, "
                       f"horizontal flip, brightness/contrast jitter (x{train_args.get('jitter', 1.0)})"
                       + (f", saturation jitter 1 +- {train_args['saturation']}" if train_args.get("saturation") else "")
                       + f"; {precision_text(train_args)}; seed {train_args['seed']}; "
                       + ("on a lent NVIDIA H100 (torch 2.11, CUDA; models/train/gpu/run.sh), train and "
                          "val images carried there as JPEG quality 95 4:4:4, labels lossless"
                          if on_gpu else "1 CPU thread")),
            "epochsPlanned": train_args["epochs"],
            "epochBudgetHistory": budget_changes(args.run),
            "selectedEpoch": best["epoch"],
            "selectedValMiou": best["val_miou"],
            "command": ("/usr/bin/python3 models/train/train_camvid.py --data ../shared/data/camvid "
                        f"--run {os.path.relpath(args.run, os.path.join(MODELS_DIR, '..'))} "
                        f"--epochs {train_args['epochs']} --weight-c {train_args['weight_c']}"
                        + (f" --widths {train_args['widths']}" if "widths" in train_args else "")
                        + (f" --context {context}" if context else "")
                        + (f" --jitter {train_args['jitter']}" if train_args.get("jitter", 1.0) != 1.0 else "")
                        + (f" --saturation {train_args['saturation']}" if train_args.get("saturation") else "")
                        + (f" --seed {train_args['seed']}" if train_args["seed"] else "")
                        + (" --device cuda" if on_gpu else "")),
        },
        "export": {"script": "models/train/export_camvid.py",
                   "command": ("/usr/bin/python3 models/train/export_camvid.py --data ../shared/data "
                               f"--run {os.path.relpath(args.run, os.path.join(MODELS_DIR, '..'))}")},
    })


if __name__ == "__main__":
    main()
