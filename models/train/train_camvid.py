"""Train the CamVid source segmenter (small U-Net with BatchNorm) on CPU or a CUDA GPU, resumably.

Usage (from the repository root, in the background, one torch thread):
  nohup /usr/bin/python3 models/train/train_camvid.py --data ../shared/data/camvid \
      --run models/train/runs/camvid-unet --epochs 120 > /dev/null 2>&1 &

Trains on `train` (367 frames), selects on `val` mIoU (evaluated every --eval-every epochs;
the best weights go to <run>/best.pt). Every epoch writes <run>/ckpt.pt
atomically, so an interrupted run resumes where it stopped. The test split is not touched
here (export_camvid.py measures it). Log: <run>/train.log. `--device cuda` runs the model on a
GPU (augmentation stays on the CPU, so the random stream is the same; models/train/gpu/).
Autocast is bf16 where it is fast (GPU, AVX-512 CPU), fp32 elsewhere (precision.py; the `args`
log line records the choice).
"""
import argparse
import os
import time

import torch
import torch.nn.functional as F

from camvid_data import IGNORE_INDEX, NUM_CLASSES, confusion, load_camvid, miou
from camvid_net import net_from_args
from precision import add_precision_arg, autocast, resolve_precision
from schedule import lr_at


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--run", required=True)
    p.add_argument("--epochs", type=int, default=120)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--wd", type=float, default=1e-4)
    p.add_argument("--warmup", type=int, default=2, help="linear warm-up epochs")
    p.add_argument("--min-scale", type=float, default=0.75)
    p.add_argument("--max-scale", type=float, default=1.75)
    p.add_argument("--weight-c", type=float, default=1.10,
                   help="class weight 1/ln(c + p_class) (ENet uses 1.02; larger is milder)")
    p.add_argument("--jitter", type=float, default=1.0,
                   help="scales the brightness (+-0.1) and contrast (+-15%%) jitter")
    p.add_argument("--saturation", type=float, default=0.0, help="saturation jitter 1 +- S (0: none)")
    p.add_argument("--widths", default="16,32,64,128", help="channels of the four levels")
    p.add_argument("--context", default="",
                   help="dilations of residual 3x3 convs at the bottleneck, e.g. 2,4,8 (none by default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-every", type=int, default=4)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    add_precision_arg(p)
    return p.parse_args()


def class_weights(labels, c):
    counts = torch.bincount(labels[labels != IGNORE_INDEX].flatten(), minlength=NUM_CLASSES).double()
    w = 1.0 / torch.log(c + counts / counts.sum())
    return (w / w.mean()).float()


def augment(images, labels, gen, min_scale, max_scale, jitter=1.0, saturation=0.0):
    """Per sample: random scale (bilinear image / nearest label), random crop back to the
    input size (padding with black / ignore when scaled down), random horizontal flip,
    brightness (+-0.1 x jitter) and contrast (+-15% x jitter) jitter, and with saturation > 0 a
    saturation factor in 1 +- saturation (drawn only then, so older runs keep their random
    stream). uint8 in, float [0,1] image + int64 label out."""
    n, _, h, w = images.shape
    out_x = torch.zeros(n, 3, h, w)
    out_y = torch.full((n, h, w), IGNORE_INDEX, dtype=torch.long)
    for i in range(n):
        s = min_scale + (max_scale - min_scale) * torch.rand(1, generator=gen).item()
        sh, sw = max(8, round(h * s)), max(8, round(w * s))
        x = F.interpolate(images[i:i + 1].float() / 255, size=(sh, sw), mode="bilinear",
                          align_corners=False)[0]
        y = F.interpolate(labels[i:i + 1, None].float(), size=(sh, sw), mode="nearest")[0, 0].long()
        # Crop window in scaled coordinates (may exceed the image when sh < h: padded).
        oy = torch.randint(0, abs(sh - h) + 1, (1,), generator=gen).item()
        ox = torch.randint(0, abs(sw - w) + 1, (1,), generator=gen).item()
        if sh >= h:
            x, y, dy = x[:, oy:oy + h], y[oy:oy + h], 0
        else:
            dy = oy
        if sw >= w:
            x, y, dx = x[:, :, ox:ox + w], y[:, ox:ox + w], 0
        else:
            dx = ox
        out_x[i, :, dy:dy + x.shape[1], dx:dx + x.shape[2]] = x
        out_y[i, dy:dy + y.shape[0], dx:dx + y.shape[1]] = y
        if torch.rand(1, generator=gen).item() < 0.5:
            out_x[i] = out_x[i].flip(-1)
            out_y[i] = out_y[i].flip(-1)
        b = 0.2 * jitter * (torch.rand(1, generator=gen).item() - 0.5)
        c = 1 + 0.3 * jitter * (torch.rand(1, generator=gen).item() - 0.5)
        m = out_x[i].mean()
        out_x[i] = ((out_x[i] - m) * c + m + b).clamp(0, 1)
        if saturation > 0:
            f = 1 + 2 * saturation * (torch.rand(1, generator=gen).item() - 0.5)
            gray = (0.299 * out_x[i, 0] + 0.587 * out_x[i, 1] + 0.114 * out_x[i, 2]).unsqueeze(0)
            out_x[i] = (gray + (out_x[i] - gray) * f).clamp(0, 1)
    return out_x, out_y


def evaluate(model, images, labels, device):
    model.eval()
    conf = torch.zeros(NUM_CLASSES, NUM_CLASSES, dtype=torch.long, device=device)
    with torch.no_grad():
        for i in range(0, len(images), 16):
            x = (images[i:i + 16].to(device).float() / 255).contiguous(
                memory_format=torch.channels_last)
            conf += confusion(model(x).argmax(1), labels[i:i + 16].to(device))
    model.train()
    return miou(conf)


def main():
    args = parse_args()
    os.makedirs(args.run, exist_ok=True)
    log = open(os.path.join(args.run, "train.log"), "a", buffering=1)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.backends.cudnn.benchmark = device.type == "cuda"
    # Resolved into args, so the `args` log line and the checkpoint record what ran.
    args.precision = resolve_precision(args.precision, device)

    train_x, train_y, _ = load_camvid(args.data, "train")
    val_x, val_y, _ = load_camvid(args.data, "val")
    weights = class_weights(train_y, args.weight_c).to(device)
    model = net_from_args(vars(args)).to(device, memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.wd)
    steps_per_epoch = len(train_x) // args.batch  # drop the last partial batch
    total = steps_per_epoch * args.epochs
    start_epoch, best = 0, -1.0
    ckpt_path = os.path.join(args.run, "ckpt.pt")
    if os.path.exists(ckpt_path):
        ckpt = torch.load(ckpt_path, map_location=device)
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["opt"])
        start_epoch, best = ckpt["epoch"], ckpt["best_val_miou"]
        print(f"resumed from epoch {start_epoch}", file=log)
    print(f"args {vars(args)}", file=log)
    print(f"class weights {[round(v, 3) for v in weights.tolist()]}", file=log)

    for epoch in range(start_epoch, args.epochs):
        gen = torch.Generator().manual_seed(args.seed * 100003 + epoch)
        order = torch.randperm(len(train_x), generator=gen)
        t0, loss_sum = time.time(), torch.zeros((), device=device)  # no per-step GPU sync
        for s in range(steps_per_epoch):
            step = epoch * steps_per_epoch + s
            for g in opt.param_groups:
                g["lr"] = lr_at(step, total, args.warmup * steps_per_epoch, args.lr)
            idx = order[s * args.batch:(s + 1) * args.batch]
            x, y = augment(train_x[idx], train_y[idx], gen, args.min_scale, args.max_scale,
                           args.jitter, args.saturation)
            x = x.to(device).contiguous(memory_format=torch.channels_last)
            y = y.to(device)
            with autocast(device, args.precision):
                out = model(x)
            loss = F.cross_entropy(out.float(), y, weight=weights, ignore_index=IGNORE_INDEX)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach()
        msg = (f"epoch {epoch + 1}/{args.epochs} loss {loss_sum.item() / steps_per_epoch:.4f} "
               f"lr {opt.param_groups[0]['lr']:.6f} time {time.time() - t0:.1f}s")
        if (epoch + 1) % args.eval_every == 0 or epoch + 1 == args.epochs:
            val_miou, _, val_acc = evaluate(model, val_x, val_y, device)
            msg += f" val_miou {val_miou:.4f} val_pixacc {val_acc:.4f}"
            if val_miou > best:
                best = val_miou
                torch.save({"model": model.state_dict(), "epoch": epoch + 1, "val_miou": val_miou},
                           os.path.join(args.run, "best.pt"))
                msg += " (best)"
        print(msg, file=log)
        tmp = ckpt_path + ".tmp"
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": epoch + 1,
                    "best_val_miou": best, "args": vars(args)}, tmp)
        os.replace(tmp, ckpt_path)
    torch.save(model.state_dict(), os.path.join(args.run, "final_state_dict.pt"))
    print("done", file=log)


if __name__ == "__main__":
    main()
