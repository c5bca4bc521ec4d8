"""Rebuild the canonical data layouts from pack.py's output (run on the GPU machine).

Usage: python3 models/train/gpu/unpack.py --packed .gpu-data --out /tmp/data

Writes <out>/cifar10/data_batch_1..5.bin (the mosaic cut back into 10,000-record batches) and
test_batch.bin = the shipped 1,000 lossless test images (public/samples), so a device log's
test_acc is on those 1,000; and <out>/camvid/{train,val}/{images,labels}/*.png.
"""
import argparse
import os
import shutil

import numpy as np
from PIL import Image

from pack import COLS

SAMPLE = "public/samples/cifar10/test_canonical_0-999.bin"


def unpack_cifar(packed, out):
    labels = np.fromfile(os.path.join(packed, "cifar10-train-labels.bin"), dtype=np.uint8)
    n = len(labels)
    mosaic = np.asarray(Image.open(os.path.join(packed, "cifar10-train.jpg")).convert("RGB"))
    if mosaic.shape != (n // COLS * 32, COLS * 32, 3):
        raise ValueError(f"mosaic {mosaic.shape} does not hold {n} images")
    images = mosaic.reshape(n // COLS, 32, COLS, 32, 3).transpose(0, 2, 4, 1, 3).reshape(n, 3072)
    records = np.concatenate([labels[:, None], images], axis=1)
    os.makedirs(os.path.join(out, "cifar10"), exist_ok=True)
    for i in range(5):
        records[i * n // 5:(i + 1) * n // 5].tofile(os.path.join(out, "cifar10", f"data_batch_{i + 1}.bin"))
    shutil.copy(SAMPLE, os.path.join(out, "cifar10", "test_batch.bin"))


def unpack_camvid(packed, out):
    for split in ("train", "val"):
        src = os.path.join(packed, "camvid", split)
        dst = os.path.join(out, "camvid", split)
        shutil.copytree(os.path.join(src, "labels"), os.path.join(dst, "labels"), dirs_exist_ok=True)
        os.makedirs(os.path.join(dst, "images"), exist_ok=True)
        for name in os.listdir(os.path.join(src, "images")):
            Image.open(os.path.join(src, "images", name)).save(os.path.join(dst, "images", name[:-4] + ".png"))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--packed", required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    unpack_cifar(args.packed, args.out)
    if os.path.isdir(os.path.join(args.packed, "camvid")):  # a CIFAR-only carry leaves it out
        unpack_camvid(args.packed, args.out)


if __name__ == "__main__":
    main()
