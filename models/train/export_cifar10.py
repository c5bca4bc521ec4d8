"""Export a CIFAR-10 ResNet-26 (train_cifar10.py) as ONNX + state_dict, reference logits
and the model card models/<name>.json, with clean accuracy measured on the full 10,000-image
test set and on the shipped 1,000-image sample. The card name is the run folder's name
(cifar10-resnet26: widths 16/32/64; cifar10-resnet26x2: 32/64/128); the widths come from the
training arguments saved in the run's checkpoint.

Usage (from the repository root; re-run after training finishes for the final model):
  /usr/bin/python3 models/train/export_cifar10.py --data ../shared/data \
      --run models/train/runs/cifar10-resnet26x2

Takes <run>/final_state_dict.pt when training is complete, else <run>/ckpt.pt (key 'model')
and marks the card "interim" with the epoch it came from.
"""
import argparse
import ast
import os

import torch

from cifar_data import load_cifar10, read_batches
from export_common import MODELS_DIR, export_onnx, file_entry, write_card, write_reference
from precision import precision_text
from resnet_cifar import CIFAR10_MEAN, CIFAR10_STD, net_from_args

SAMPLE = "public/samples/cifar10/test_canonical_0-999.bin"
ALLOWED_OPS = {"Sub", "Div", "Conv", "BatchNormalization", "Relu", "Add", "GlobalAveragePool",
               "Flatten", "Gemm"}


def load_weights(run, epochs_total):
    """(state_dict, epoch, status, training args) of the run."""
    ckpt = torch.load(os.path.join(run, "ckpt.pt"))
    final = os.path.join(run, "final_state_dict.pt")
    if os.path.exists(final):
        return torch.load(final), epochs_total, "final", ckpt["args"]
    return ckpt["model"], ckpt["epoch"], "interim", ckpt["args"]


def accuracy(model, images, labels):
    correct = 0
    with torch.no_grad():
        for i in range(0, len(images), 500):
            correct += (model(images[i:i + 500].float() / 255).argmax(1) == labels[i:i + 500]).sum().item()
    return correct


def device_history(run, epoch):
    """Where and in what precision the epochs ran, from train.log's `args` / `resumed from epoch N`
    lines, e.g. 'epochs 1-88 on a lent CUDA GPU (...), bf16 autocast; epochs 89-160 on the CPU,
    bf16 autocast': a card says how its model was made."""
    segments, start = [], 0
    for line in open(os.path.join(run, "train.log")):
        if line.startswith("resumed from epoch "):
            start = int(line.split()[-1])
        elif line.startswith("args "):
            logged = ast.literal_eval(line[5:])
            how = (logged.get("device", "cpu"), precision_text(logged))
            if segments and segments[-1][1] == how:
                continue
            segments.append([start, how])
    parts, described = [], set()
    for i, (first, (device, precision)) in enumerate(segments):
        last = segments[i + 1][0] if i + 1 < len(segments) else epoch
        where = "on the CPU"
        if device == "cuda":  # the data note once; a run can go back to a GPU after CPU epochs
            where = ("on a lent CUDA GPU" if device in described else
                     "on a lent CUDA GPU (models/train/gpu/: the training images carried as pack.py's "
                     "JPEG mosaic, 43.5 dB PSNR against these copies)")
        described.add(device)
        parts.append(f"epochs {first + 1}-{last} {where}, {precision}")
    return "; ".join(parts)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True, help="the shared data folder (holds cifar10/)")
    p.add_argument("--run", required=True)
    p.add_argument("--epochs", type=int, default=160, help="the training run's epoch budget")
    args = p.parse_args()
    torch.set_num_threads(1)

    name = os.path.basename(os.path.normpath(args.run))
    state, epoch, status, train_args = load_weights(args.run, args.epochs)
    cutout = train_args.get("cutout", 0)  # absent in runs made before --cutout existed
    model = net_from_args(train_args)
    widths = [layer[0].conv1.out_channels for layer in (model.layer1, model.layer2, model.layer3)]
    model.load_state_dict(state)
    model.eval()

    onnx_rel, pt_rel = f"{name}.onnx", f"{name}.pt"
    ops, n_bn = export_onnx(model, torch.zeros(1, 3, 32, 32), os.path.join(MODELS_DIR, onnx_rel),
                            ALLOWED_OPS)
    torch.save(model.state_dict(), os.path.join(MODELS_DIR, pt_rel))

    sample_x, sample_y = read_batches([os.path.join(MODELS_DIR, "..", SAMPLE)])
    ref_x = sample_x[:4]
    with torch.no_grad():
        ref_logits = model(ref_x.float() / 255)
    os.makedirs(os.path.join(MODELS_DIR, "reference"), exist_ok=True)
    ref_rel = f"reference/{name}.json"
    write_reference(os.path.join(MODELS_DIR, ref_rel), onnx_rel, ref_x, ref_logits)

    test_x, test_y = load_cifar10(os.path.join(args.data, "cifar10"), "test")
    full_correct = accuracy(model, test_x, test_y)
    sample_correct = accuracy(model, sample_x, sample_y)
    print(f"{name} epoch {epoch} ({status}): test {full_correct}/10000, sample {sample_correct}/1000")

    with open(os.path.join(args.data, "cifar10", "batches.meta.txt")) as f:
        class_names = [line.strip() for line in f if line.strip()]
    write_card(name, {
        "status": status,
        "epoch": epoch,
        "task": "classification",
        "architecture": ("ResNet-26 for CIFAR (He et al. 2016, sec. 4.2: 3 stages x 4 basic blocks, "
                         f"widths {'/'.join(map(str, widths))}) with BatchNorm and 1x1-conv projection shortcuts; "
                         "CIFAR-10 mean/std normalisation is the first op of the graph"),
        "params": sum(p.numel() for p in model.parameters()),
        "batchNormLayers": n_bn,
        "format": "onnx",
        "onnx": {"opset": 13, "ops": ops, "input": "input", "output": "logits",
                 "inputLayout": "NCHW", "dynamicBatch": True},
        "input": {"height": 32, "width": 32, "channels": 3, "channelOrder": "RGB", "range": [0, 1],
                  "mean": None, "std": None,
                  "note": (f"pixels / 255; the graph itself applies mean {list(CIFAR10_MEAN)} and "
                           f"std {list(CIFAR10_STD)}, so callers pass [0,1] RGB")},
        "output": {"kind": "logits", "classes": len(class_names)},
        "classNames": class_names,
        "files": [file_entry(onnx_rel, "model"), file_entry(pt_rel, "pytorch-state-dict"),
                  file_entry(ref_rel, "reference")],
        "accuracy": [
            {"data": "shared/data/cifar10/test_batch.bin (10,000 test images, JPEG-q75-decoded copies)",
             "sample": "cifar10-test-full", "metric": "top1", "correct": full_correct, "count": len(test_y),
             "value": full_correct / len(test_y)},
            {"data": f"{SAMPLE} (official test images 0-999, lossless)",
             "sample": "cifar10-sample", "metric": "top1", "correct": sample_correct, "count": len(sample_y),
             "value": sample_correct / len(sample_y)},
        ],
        "training": {
            "script": "models/train/train_cifar10.py",
            "data": "shared/data/cifar10 data_batch_1..5 (50,000 images, JPEG-q75-decoded copies)",
            "recipe": ("SGD momentum 0.9 Nesterov, lr 0.1, batch 128, weight decay 5e-4, 2 warm-up "
                       "epochs then cosine to 0 over 160 epochs; random crop (4-px zero pad) + "
                       "horizontal flip"
                       + (f" + Cutout {cutout}x{cutout} (dataset-mean fill)" if cutout else "")
                       + "; channels-last; seed 0; "
                       + device_history(args.run, epoch)),
            "epochsPlanned": args.epochs,
            "command": ("/usr/bin/python3 models/train/train_cifar10.py --data ../shared/data/cifar10 "
                        f"--run models/train/runs/{name} --widths {','.join(map(str, widths))}"
                        + (f" --cutout {cutout}" if cutout else "")),
        },
        "export": {"script": "models/train/export_cifar10.py",
                   "command": ("/usr/bin/python3 models/train/export_cifar10.py --data ../shared/data "
                               f"--run models/train/runs/{name}")},
    })


if __name__ == "__main__":
    main()
