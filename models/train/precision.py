"""Mixed-precision choice shared by the trainers.

bf16 autocast is fast on GPUs and on CPUs with AVX-512 (oneDNN's bf16 kernels need
avx512_core), but without AVX-512 oneDNN falls back to reference kernels: measured on a
2-core AVX2-only AMD EPYC, a ResNet-26 2x step at batch 128 took ~40 s in bf16 against
~2.2 s in fp32. `auto` picks bf16 only where it is fast."""
import torch


def cpu_has_avx512():
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and "avx512bw" in line.split() for line in f)
    except OSError:
        return False


def resolve_precision(choice, device):
    if choice != "auto":
        return choice
    return "bf16" if device.type == "cuda" or cpu_has_avx512() else "fp32"


def autocast(device, precision):
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def add_precision_arg(parser):
    parser.add_argument("--precision", choices=["auto", "bf16", "fp32"], default="auto",
                        help="autocast dtype; auto = bf16 on CUDA or an AVX-512 CPU, else fp32")


def precision_text(train_args):
    """How a run's args (as logged or checkpointed) say it computed, for a model card; runs
    made before --precision existed have no such key and all used bf16 autocast."""
    return "fp32" if train_args.get("precision", "bf16") == "fp32" else "bf16 autocast"
