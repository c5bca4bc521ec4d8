"""PyTorch CPU baseline for `npm run perf`: forward, Tent step and full-parameter step of the
shipped CIFAR-10 ResNet-26 at the given batch sizes, fp32, 2 threads (the browser's budget).

Steps mirror the tfjs ones: forward = eval mode (running statistics); Tent = batch-statistics
BatchNorm, mean softmax entropy, gradients of the BN affine parameters only, Adam step;
full = the same loss and a step on every parameter (CoTTA-style student update).
Prints one JSON object on stdout: {"torch": version, "threads": n, "results": [...]}.
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resnet_cifar import CifarResNet  # noqa: E402


def entropy(logits):
    logp = logits.log_softmax(1)
    return -(logp.exp() * logp).sum(1).mean()


def timed(fn, min_seconds, max_iters):
    fn()  # warm-up for this batch size
    times = []
    start = time.perf_counter()
    while len(times) < max_iters and (len(times) < 2 or time.perf_counter() - start < min_seconds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2], len(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", required=True, help="state dict (models/cifar10-resnet26.pt)")
    ap.add_argument("--batches", default="1,16,64,200")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-seconds", type=float, default=2.0)
    ap.add_argument("--max-iters", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    model = CifarResNet(depth=26)
    model.load_state_dict(torch.load(args.weights, map_location="cpu"))
    results = []
    for batch in [int(b) for b in args.batches.split(",")]:
        x = torch.rand(batch, 3, 32, 32)

        model.eval()

        def forward():
            with torch.no_grad():
                model(x)

        tent_params = [p for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d) for p in (m.weight, m.bias)]
        opt_tent = torch.optim.Adam(tent_params, lr=1e-3)
        opt_all = torch.optim.Adam(model.parameters(), lr=1e-3)

        def step(opt, params):
            # Tent freezes everything but the BN affine parameters.
            trainable = set(map(id, params))
            for p in model.parameters():
                p.requires_grad_(id(p) in trainable)
            loss = entropy(model(x))
            opt.zero_grad()
            loss.backward()
            opt.step()

        state = {k: v.clone() for k, v in model.state_dict().items()}
        for name, fn, train in [("forward", forward, False),
                                ("tent", lambda: step(opt_tent, tent_params), True),
                                ("full", lambda: step(opt_all, list(model.parameters())), True)]:
            # Batch statistics, running statistics left as they are (as Tent: track_running_stats off).
            model.train(train)
            for m in model.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.track_running_stats = not train
                    if train:
                        m.running_mean, m.running_var = None, None
            median, iters = timed(fn, args.min_seconds, args.max_iters)
            model.load_state_dict(state, strict=False)
            for m in model.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.track_running_stats = True
                    m.running_mean, m.running_var = state_bn(state, m, model)
            results.append({"step": name, "batch": batch, "msPerStep": median * 1000,
                            "imagesPerSec": batch / median, "iters": iters})
            print(f"torch {name} batch {batch}: {median * 1000:.1f} ms", file=sys.stderr)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "results": results}))


def state_bn(state, module, model):
    name = next(n for n, m in model.named_modules() if m is module)
    return state[f"{name}.running_mean"].clone(), state[f"{name}.running_var"].clone()


if __name__ == "__main__":
    main()
