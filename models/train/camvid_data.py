"""CamVid (SegNet split, 160x120) PNG folders -> uint8 tensors: images (N, 3, H, W), labels (N, H, W)."""
import os

import torch
from torchvision.io import read_image

NUM_CLASSES = 11
IGNORE_INDEX = 11


def list_split(root, split):
    names = sorted(os.listdir(os.path.join(root, split, "images")))
    if not names:
        raise ValueError(f"{root}/{split}/images: no images")
    return names


def load_camvid(root, split):
    names = list_split(root, split)
    images, labels = [], []
    for n in names:
        img = read_image(os.path.join(root, split, "images", n))
        lab = read_image(os.path.join(root, split, "labels", n))
        if img.shape[0] != 3 or lab.shape[0] != 1 or img.shape[1:] != lab.shape[1:]:
            raise ValueError(f"{split}/{n}: image {tuple(img.shape)} / label {tuple(lab.shape)} mismatch")
        if lab.max().item() > IGNORE_INDEX:
            raise ValueError(f"{split}/labels/{n}: label {lab.max().item()} > {IGNORE_INDEX}")
        images.append(img)
        labels.append(lab[0])
    return torch.stack(images), torch.stack(labels).long(), names


def confusion(pred, target, num_classes=NUM_CLASSES):
    """Confusion matrix [true, pred] over pixels whose target is not the ignore index."""
    keep = target != IGNORE_INDEX
    idx = target[keep] * num_classes + pred[keep]
    return torch.bincount(idx, minlength=num_classes * num_classes).view(num_classes, num_classes)


def miou(conf):
    """Mean IoU over classes present in target or prediction; also per-class IoU and pixel accuracy."""
    conf = conf.double()
    tp = conf.diag()
    union = conf.sum(0) + conf.sum(1) - tp
    iou = tp / union.clamp(min=1)
    valid = union > 0
    return iou[valid].mean().item(), iou.tolist(), (tp.sum() / conf.sum()).item()
