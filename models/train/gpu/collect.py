"""Copy the training runs out of a GPU machine: one <out>/<run>.tar per run, CPU tensors only.

Usage: python3 models/train/gpu/collect.py --runs /tmp/runs --out "$OUT"

Each tar holds train.log, best.pt when the run selects on val, final_state_dict.pt when it
finished, and ckpt.pt: with model and optimiser (resumable with the same command) while the run
is unfinished and selects on the training budget; else with the epoch and training arguments
only, which is what the export scripts read besides the weights. A device call returns files of
at most 16 MB (8 in all), so a bigger tar comes back as <run>.tar.part0, .part1, ...; rejoin
them with `cat <run>.tar.part* > <run>.tar` (the 3x-wide CIFAR-10 checkpoint is ~26 MB).
"""
import argparse
import io
import os
import tarfile

import torch

LIMIT = 15_000_000


def cpu_bytes(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def load_cpu(path):
    return torch.load(path, map_location="cpu", weights_only=False)


def run_files(run):
    files = {"train.log": open(os.path.join(run, "train.log"), "rb").read()}
    # A run that selects on val ships best.pt; its final weights are not needed.
    for name in ("best.pt",) if os.path.exists(os.path.join(run, "best.pt")) else ("final_state_dict.pt",):
        if os.path.exists(os.path.join(run, name)):
            files[name] = cpu_bytes(load_cpu(os.path.join(run, name)))
    ckpt_path = os.path.join(run, "ckpt.pt")
    if os.path.exists(ckpt_path):
        ckpt = load_cpu(ckpt_path)
        resumable = len(files) == 1  # unfinished, no val selection: model and optimiser go too
        files["ckpt.pt"] = cpu_bytes(ckpt if resumable else {k: v for k, v in ckpt.items() if k not in ("model", "opt")})
    return files


def write_tar(name, files, out):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for fname, data in files.items():
            info = tarfile.TarInfo(f"{name}/{fname}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    data = buf.getvalue()
    chunks = [data[i:i + LIMIT] for i in range(0, len(data), LIMIT)]
    targets = [f"{name}.tar"] if len(chunks) == 1 else [f"{name}.tar.part{i}" for i in range(len(chunks))]
    for stale in os.listdir(out):  # a previous round's other form or extra parts
        if stale.startswith(f"{name}.tar") and stale not in targets:
            os.remove(os.path.join(out, stale))
    for target, chunk in zip(targets, chunks):
        tmp = os.path.join(out, f".{target}")  # same folder: the rename is atomic
        with open(tmp, "wb") as f:
            f.write(chunk)
        os.replace(tmp, os.path.join(out, target))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    for name in sorted(os.listdir(args.runs)):
        run = os.path.join(args.runs, name)
        if not os.path.exists(os.path.join(run, "train.log")):
            continue
        try:
            files = run_files(run)
        except (OSError, RuntimeError, EOFError) as e:  # a checkpoint being replaced: next round
            print(f"collect {name}: {e}")
            continue
        write_tar(name, files, args.out)


if __name__ == "__main__":
    main()
