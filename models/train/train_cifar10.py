"""Train the CIFAR-10 source model (ResNet with BatchNorm) on CPU or a CUDA GPU, resumably.

Usage (from the repository root, in the background):
  nohup /usr/bin/python3 models/train/train_cifar10.py --data ../shared/data/cifar10 \
      --run models/train/runs/cifar10-resnet26 > /dev/null 2>&1 &

Every epoch writes <run>/ckpt.pt atomically (model, optimiser, scheduler, epoch), so an
interrupted run resumes where it stopped and loses at most one epoch. Progress goes to
<run>/train.log. The number of torch threads is re-read from <run>/threads every 50 steps
(default 2): write 1 there while other heavy work shares the two cores, because 2 threads
on a busy machine run 5-40x slower. `--device cuda` runs the same recipe on a GPU (see
models/train/gpu/ for training on a lent GPU machine). Autocast is bf16 where it is fast
(GPU, AVX-512 CPU) and fp32 elsewhere (precision.py); the `args` log line records the choice.
"""
import argparse
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from cifar_data import load_cifar10
from precision import add_precision_arg, autocast, resolve_precision
from resnet_cifar import CIFAR10_MEAN, net_from_args
from schedule import lr_at


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--run", required=True)
    p.add_argument("--depth", type=int, default=26)
    p.add_argument("--widths", default="16,32,64",
                   help="channels of the three stages, e.g. 32,64,128 for the 2x-wide network")
    p.add_argument("--epochs", type=int, default=160)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--wd", type=float, default=5e-4)
    p.add_argument("--warmup", type=int, default=2, help="linear warm-up epochs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-every", type=int, default=5)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--cutout", type=int, default=0,
                   help="Cutout square side in pixels (DeVries & Taylor 2017 use 16 on CIFAR-10); 0 = off")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the training forward/backward (tried on a GPU, where "
                        "per-step overhead rather than arithmetic bounds this small network); "
                        "falls back to eager if compiling fails")
    add_precision_arg(p)
    return p.parse_args()


def draw_crops(n, gen):
    """One batch's crop offsets and flips (n x [oy, ox, flip]) from the CPU generator."""
    oy = torch.randint(0, 9, (n,), generator=gen)
    ox = torch.randint(0, 9, (n,), generator=gen)
    flip = torch.rand(n, generator=gen) < 0.5
    return torch.stack([oy, ox, flip.long()], 1)


def crop_flip(x, draws):
    """Random crop with 4-pixel zero padding and random horizontal flip, on uint8 NCHW, as one
    gather on x's device (pixel (r, c) of sample i is padded pixel (oy+r, ox+c), or
    (oy+r, ox+31-c) when flipped): no per-sample Python loop, no host copy per step."""
    n = x.shape[0]
    padded = F.pad(x, (4, 4, 4, 4))
    oy, ox, flip = draws.unbind(1)
    ar = torch.arange(32, device=x.device)
    rows = oy[:, None] + ar
    cols = torch.where(flip[:, None].bool(), ox[:, None] + 31 - ar, ox[:, None] + ar)
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    channel = torch.arange(3, device=x.device)[None, :, None, None]
    return padded[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]


def cutout(x, centers, size, fill):
    """Cutout on [0,1] NCHW: a size x size square (clipped at the border) around each sample's
    center set to `fill` (1x3x1x1, the dataset mean), i.e. to 0 after normalisation as in the
    official code, which masks the normalised tensor (our normalisation is inside the network)."""
    ar = torch.arange(32, device=x.device)
    lo = centers - size // 2
    inside = (ar >= lo[:, :, None]) & (ar < lo[:, :, None] + size)  # n x 2 x 32
    mask = (inside[:, 0, :, None] & inside[:, 1, None, :])[:, None]
    return torch.where(mask, fill, x)


def evaluate(model, images, labels, device, precision):
    model.eval()
    correct = 0
    with torch.no_grad(), autocast(device, precision):
        for i in range(0, len(images), 500):
            x = (images[i:i + 500].to(device).float() / 255).contiguous(
                memory_format=torch.channels_last)
            correct += (model(x).argmax(1) == labels[i:i + 500].to(device)).sum().item()
    model.train()
    return correct / len(images)


def set_threads(run):
    try:
        with open(os.path.join(run, "threads")) as f:
            n = int(f.read().strip())
    except (OSError, ValueError):
        n = 2
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


def forward_backward(forward, x, y, opt, device, precision):
    with autocast(device, precision):
        out = forward(x)
    loss = F.cross_entropy(out.float(), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    return out, loss


def main():
    args = parse_args()
    os.makedirs(args.run, exist_ok=True)
    log = open(os.path.join(args.run, "train.log"), "a", buffering=1)
    torch.manual_seed(args.seed)
    set_threads(args.run)
    device = torch.device(args.device)
    torch.backends.cudnn.benchmark = device.type == "cuda"
    # Resolved into args, so the `args` log line and the checkpoint record what ran.
    args.precision = resolve_precision(args.precision, device)

    train_x, train_y = load_cifar10(args.data, "train")
    train_x, train_y = train_x.to(device), train_y.to(device)  # 150 MB: resident on a GPU
    test_x, test_y = load_cifar10(args.data, "test")
    model = net_from_args(vars(args)).to(device, memory_format=torch.channels_last)
    # Evaluation and checkpoints use the plain module (same parameters): no recompile for
    # eval-mode BatchNorm, and the state_dict keys stay those of the eager network.
    forward = torch.compile(model) if args.compile else model
    compiled_ran = False
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True,
                          weight_decay=args.wd)
    steps_per_epoch = len(train_x) // args.batch  # drop the last partial batch
    total = steps_per_epoch * args.epochs
    start_epoch = 0
    ckpt_path = os.path.join(args.run, "ckpt.pt")
    if os.path.exists(ckpt_path):
        ckpt = torch.load(ckpt_path, map_location=device)
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["opt"])
        start_epoch = ckpt["epoch"]
        print(f"resumed from epoch {start_epoch}", file=log)
    print(f"args {vars(args)}", file=log)

    # Made once: a tensor built from host values per step would be a host-to-device copy per step.
    cutout_fill = torch.tensor(CIFAR10_MEAN, device=device).view(1, 3, 1, 1)
    for epoch in range(start_epoch, args.epochs):
        gen = torch.Generator().manual_seed(args.seed * 100003 + epoch)
        order = torch.randperm(len(train_x), generator=gen)
        # The whole epoch's draws go to the device at once: a host-to-device copy per step
        # would wait for the GPU to finish the previous step. Same draw order as per step.
        draws = torch.stack([draw_crops(args.batch, gen) for _ in range(steps_per_epoch)])
        order, draws = order.to(device), draws.to(device)
        # Drawn after the crops, only when on: runs without cutout keep their exact draws.
        centers = (torch.randint(0, 32, (steps_per_epoch, args.batch, 2), generator=gen).to(device)
                   if args.cutout else None)
        # Summed on the device: a .item() per step would stall a GPU every step.
        t0, loss_sum, correct = time.time(), torch.zeros((), device=device), 0
        for s in range(steps_per_epoch):
            if s % 50 == 0:
                set_threads(args.run)
            step = epoch * steps_per_epoch + s
            for g in opt.param_groups:
                g["lr"] = lr_at(step, total, args.warmup * steps_per_epoch, args.lr)
            idx = order[s * args.batch:(s + 1) * args.batch]
            x = crop_flip(train_x[idx], draws[s]).float() / 255
            if args.cutout:
                x = cutout(x, centers[s], args.cutout, cutout_fill)
            x = x.contiguous(memory_format=torch.channels_last)
            y = train_y[idx]
            try:
                out, loss = forward_backward(forward, x, y, opt, device, args.precision)
            except Exception as e:
                # Compile errors surface at the first compiled call; only that one falls back to
                # eager. A later error (a CUDA out-of-memory, say) is a real failure and stops.
                if forward is model or compiled_ran:
                    raise
                print(f"torch.compile failed, continuing eager: {type(e).__name__}: {e}", file=log)
                forward = model
                out, loss = forward_backward(forward, x, y, opt, device, args.precision)
            compiled_ran = forward is not model
            opt.step()
            loss_sum += loss.detach()
            correct += (out.argmax(1) == y).sum()
        msg = (f"epoch {epoch + 1}/{args.epochs} loss {loss_sum.item() / steps_per_epoch:.4f} "
               f"train_acc {int(correct) / (steps_per_epoch * args.batch):.4f} "
               f"lr {opt.param_groups[0]['lr']:.5f} time {time.time() - t0:.1f}s "
               f"threads {torch.get_num_threads()}")
        if (epoch + 1) % args.eval_every == 0 or epoch + 1 == args.epochs:
            msg += f" test_acc {evaluate(model, test_x, test_y, device, args.precision):.4f}"
        print(msg, file=log)
        tmp = ckpt_path + ".tmp"
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": epoch + 1,
                    "args": vars(args)}, tmp)
        os.replace(tmp, ckpt_path)
    torch.save(model.state_dict(), os.path.join(args.run, "final_state_dict.pt"))
    print("done", file=log)


if __name__ == "__main__":
    main()
