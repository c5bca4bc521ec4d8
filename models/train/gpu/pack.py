"""Pack the training data for a lent GPU machine, whose call carries at most 64 MiB in all.

Usage (from the repository root, on the development machine):
  /usr/bin/python3 models/train/gpu/pack.py --data ../shared/data --out .gpu-data

CIFAR-10 train (153.6 MB raw; xz gets it only to 77%) goes as one 6400x8000 JPEG mosaic
(quality 75, no chroma subsampling: 17 MB, 43.5 dB PSNR against the shared copies, which are
themselves JPEG-q75 decodes at 30.5 dB from the originals) plus the labels. CamVid train and
val images go as JPEG quality 95 (4:4:4), labels as the original PNGs (lossless). unpack.py
rebuilds the canonical layouts on the GPU machine. Test sets do not travel: the exports measure
them here on the original files.
"""
import argparse
import os
import shutil

import numpy as np
from PIL import Image

COLS = 200  # mosaic width in images; 32-pixel tiles sit on JPEG block boundaries


def pack_cifar(src, out):
    raw = np.concatenate([np.fromfile(os.path.join(src, f"data_batch_{i}.bin"), dtype=np.uint8)
                          for i in range(1, 6)]).reshape(-1, 3073)
    n = len(raw)
    assert n % COLS == 0, n
    images = raw[:, 1:].reshape(n // COLS, COLS, 3, 32, 32).transpose(0, 3, 1, 4, 2)
    Image.fromarray(images.reshape(n // COLS * 32, COLS * 32, 3)).save(
        os.path.join(out, "cifar10-train.jpg"), quality=75, subsampling=0)
    raw[:, 0].tofile(os.path.join(out, "cifar10-train-labels.bin"))


def pack_camvid(src, out):
    for split in ("train", "val"):
        os.makedirs(os.path.join(out, "camvid", split, "images"), exist_ok=True)
        shutil.copytree(os.path.join(src, split, "labels"), os.path.join(out, "camvid", split, "labels"),
                        dirs_exist_ok=True)
        for name in sorted(os.listdir(os.path.join(src, split, "images"))):
            Image.open(os.path.join(src, split, "images", name)).convert("RGB").save(
                os.path.join(out, "camvid", split, "images", name[:-4] + ".jpg"), quality=95,
                subsampling=0)
    shutil.copy(os.path.join(src, "classes.txt"), os.path.join(out, "camvid", "classes.txt"))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True, help="the shared data folder (cifar10/, camvid/)")
    p.add_argument("--out", required=True)
    p.add_argument("--cifar-only", action="store_true",
                   help="leave CamVid out (17 MB instead of 25): room to carry a resumable run")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    pack_cifar(os.path.join(args.data, "cifar10"), args.out)
    if not args.cifar_only:
        pack_camvid(os.path.join(args.data, "camvid"), args.out)


if __name__ == "__main__":
    main()
