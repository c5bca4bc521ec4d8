"""CIFAR-10 binary batches -> uint8 tensors (N, 3, 32, 32) and int64 labels."""
import os
import numpy as np
import torch

RECORD = 1 + 3 * 32 * 32


def read_batches(paths):
    raw = np.concatenate([np.fromfile(p, dtype=np.uint8) for p in paths])
    if raw.size % RECORD:
        raise ValueError(f"{paths}: size {raw.size} is not a multiple of {RECORD}")
    raw = raw.reshape(-1, RECORD)
    labels = torch.from_numpy(raw[:, 0].astype(np.int64))
    images = torch.from_numpy(raw[:, 1:].reshape(-1, 3, 32, 32).copy())
    return images, labels


def load_cifar10(root, split):
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] if split == "train" else ["test_batch.bin"]
    return read_batches([os.path.join(root, n) for n in names])
