"""Write small ONNX test models and their PyTorch reference outputs to models/fixtures/.

Each fixture is `<name>.onnx` plus `<name>.json`: the input (NCHW, [0, 1]) and the
PyTorch outputs in eval mode (running BN statistics) and, for models with BN, in train
mode (batch statistics, what NormMode 'batch' must reproduce). Tensors are stored as
{dims, data: base64 little-endian float32}. Seeded: rerunning gives identical files.

Usage: /usr/bin/python3 models/train/make_fixtures.py
"""
import base64
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from resnet_cifar import CifarResNet  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures")
torch.set_num_threads(1)


def enc(t):
    a = np.ascontiguousarray(t.detach().cpu().numpy() if torch.is_tensor(t) else t, dtype="<f4")
    return {"dims": list(a.shape), "data": base64.b64encode(a.tobytes()).decode()}


def randomise_norms(model, gen):
    """Non-trivial BN statistics and affine parameters, so eval and batch modes differ."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=gen) * 0.3)
            m.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.5)
            m.weight.data.copy_(torch.rand(c, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(c, generator=gen) * 0.2)


def export(name, model, x, opset, out_names=("logits",), with_train=True):
    model.eval()
    with torch.no_grad():
        y_eval = model(x)
    path = os.path.join(OUT, f"{name}.onnx")
    torch.onnx.export(
        model, x, path, opset_version=opset, input_names=["input"], output_names=list(out_names),
        dynamic_axes={"input": {0: "N"}, out_names[0]: {0: "N"}},
        training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    ref = {"opset": opset, "input": enc(x), "eval": enc(y_eval)}
    if with_train:
        state = {k: v.clone() for k, v in model.state_dict().items()}
        model.train()
        with torch.no_grad():
            ref["batch"] = enc(model(x))
        model.load_state_dict(state)
        model.eval()
    with open(os.path.join(OUT, f"{name}.json"), "w") as f:
        json.dump(ref, f)
    onnx.checker.check_model(onnx.load(path))
    print(f"{name}: {os.path.getsize(path)} bytes, opset {opset}, out {tuple(y_eval.shape)}")


class TinySegmenter(nn.Module):
    """Encoder-decoder with skips: strided convs down, ConvTranspose and Upsample up."""

    def __init__(self, classes=5):
        super().__init__()

        def cbr(cin, cout, stride=1):
            return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())

        self.enc1 = cbr(3, 4)
        self.enc2 = cbr(4, 8, 2)
        self.enc3 = cbr(8, 8, 2)
        self.up3 = nn.ConvTranspose2d(8, 8, 2, 2)
        self.dec2 = cbr(16, 6)
        self.dec1 = cbr(10, 6)
        self.head = nn.Conv2d(6, classes, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        d2 = self.dec2(torch.cat([self.up3(e3), e2], 1))
        up = F.interpolate(d2, scale_factor=2, mode="bilinear", align_corners=False)
        d1 = self.dec1(torch.cat([up, e1], 1))
        return self.head(d1)


class OpsNet(nn.Module):
    """Touches the op list: depthwise/grouped/dilated convs, activations, pools, Pad,
    Softmax, ReduceMean, MatMul, Transpose, Squeeze/Unsqueeze, Flatten/Reshape chains."""

    # F.pad amounts (left, right, top, bottom), also written out by ops_opset18.
    PAD_REFLECT = (1, 2, 0, 1)
    PAD_CONSTANT = (1, 1, 1, 1)

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, 1, 1)
        self.bn = nn.BatchNorm2d(8)
        self.dw = nn.Conv2d(8, 8, 3, 2, 1, groups=8)
        self.grouped = nn.Conv2d(8, 8, 3, 1, 2, dilation=2, groups=2)
        self.dw_mult = nn.Conv2d(8, 16, 3, 1, 1, groups=8, bias=False)
        self.scale = nn.Parameter(torch.randn(16, 1, 1))
        self.proj = nn.Parameter(torch.randn(16, 6) * 0.3)
        self.fc = nn.Linear(6 * 3, 4)
        self.fc.weight.data.mul_(30)  # logits of order 1, so a 1e-4 tolerance means something
        self.ct = nn.ConvTranspose2d(16, 4, 3, stride=2, padding=1, output_padding=1, dilation=1)

    def forward(self, x):
        x = F.pad(x, self.PAD_REFLECT, mode="reflect")
        x = self.bn(self.stem(x))
        x = F.hardswish(x) + F.leaky_relu(x, 0.1) - F.relu6(x) * 0.5
        x = self.dw(x)
        x = torch.tanh(self.grouped(x)) + F.hardsigmoid(x) * torch.sigmoid(x)
        x = F.max_pool2d(x, 3, 2, 1)
        x = self.dw_mult(x) * self.scale
        x = F.pad(x, self.PAD_CONSTANT, value=0.25)
        x = F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
        a = F.softmax(x, dim=1)
        x = x * a + F.avg_pool2d(self.ct(x), 2).mean(dim=(1,), keepdim=True)
        x = F.avg_pool2d(x, 2)
        m = x.mean(dim=(2, 3))  # ReduceMean, [N, 16]
        t = torch.matmul(m, self.proj)  # MatMul, [N, 6]
        t = t.unsqueeze(2).unsqueeze(3)  # [N, 6, 1, 1]
        t = torch.cat([t, t * 2, t.sigmoid()], 2)  # [N, 6, 3, 1]
        t = t.squeeze(3).transpose(1, 2)  # [N, 3, 6]
        t = t.reshape(t.size(0), -1)  # Shape/Gather/Unsqueeze/Concat/Reshape chain
        return self.fc(t)


class SmoothNet(nn.Module):
    """Conv-BN with smooth activations only: central finite differences converge on it
    (ReLU kinks make them noisy), so gradient tests use this one."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 6, 3, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(6)
        self.fc = nn.Linear(6, 3)

    def forward(self, x):
        x = torch.tanh(self.bn1(self.conv1(x)))
        x = torch.sigmoid(self.bn2(self.conv2(x)))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


class ResizeNet(nn.Module):
    """The Resize flavours PyTorch emits: nearest (asymmetric/floor), bilinear with
    align_corners True and False, to a scale and to a size."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, 1, 1)
        self.head = nn.Conv2d(12, 3, 1)

    def forward(self, x):
        x = self.conv(x)  # 6x5
        a = F.interpolate(x, scale_factor=2, mode="nearest")  # 12x10
        b = F.interpolate(x, size=(12, 10), mode="bilinear", align_corners=True)
        c = F.interpolate(F.interpolate(x, size=(9, 7), mode="bilinear", align_corners=False), size=(12, 10), mode="nearest")
        return self.head(torch.cat([a, b, c], 1))


def auto_pad_model(gen):
    """Hand-built graph (PyTorch never emits auto_pad): Conv SAME_UPPER stride 2,
    SAME_LOWER stride 1, then Flatten + Gemm. Reference computed with explicit pads."""
    w1 = torch.randn(4, 3, 3, 3, generator=gen) * 0.3
    b1 = torch.randn(4, generator=gen) * 0.1
    w2 = torch.randn(5, 4, 2, 2, generator=gen) * 0.3
    wf = torch.randn(3, 5 * 4 * 4, generator=gen) * 0.1
    bf = torch.randn(3, generator=gen) * 0.1
    x = torch.rand(2, 3, 7, 7, generator=gen)
    # SAME_UPPER, 7 -> 4 with k3 s2: total pad 2, 1 before 1 after.
    y = F.conv2d(F.pad(x, (1, 1, 1, 1)), w1, b1, stride=2)
    # SAME_LOWER, k2 s1: total pad 1, the extra goes before.
    y = F.conv2d(F.pad(y, (1, 0, 1, 0)), w2)
    y = F.relu(y).flatten(1) @ wf.t() + bf
    init = [numpy_helper.from_array(t.numpy(), n) for t, n in
            [(w1, "w1"), (b1, "b1"), (w2, "w2"), (wf, "wf"), (bf, "bf")]]
    nodes = [
        helper.make_node("Conv", ["input", "w1", "b1"], ["c1"], name="conv_same_upper",
                         auto_pad="SAME_UPPER", strides=[2, 2], kernel_shape=[3, 3]),
        helper.make_node("Conv", ["c1", "w2"], ["c2"], name="conv_same_lower", auto_pad="SAME_LOWER"),
        helper.make_node("Relu", ["c2"], ["r"], name="relu"),
        helper.make_node("Flatten", ["r"], ["f"], name="flatten", axis=1),
        helper.make_node("Gemm", ["f", "wf", "bf"], ["logits"], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "auto_pad", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 7, 7])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 3])], init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, "autopad.onnx"))
    with open(os.path.join(OUT, "autopad.json"), "w") as f:
        json.dump({"opset": 13, "input": enc(x), "eval": enc(y)}, f)
    print("autopad: hand-built, opset 13")


def drop_dead_nodes(graph):
    """Remove nodes none of whose outputs reach the graph output."""
    needed = {o.name for o in graph.output}
    for node in reversed(list(graph.node)):
        if any(o in needed for o in node.output):
            needed.update(i for i in node.input if i)
        else:
            graph.node.remove(node)


def ops_opset18():
    """ops-opset17 raised to opset 18 by hand (torch 1.13 and onnx 1.12 stop at 17), with the
    same PyTorch reference. The two 17 -> 18 changes that touch its ops: ReduceMean takes its
    axes as an input, and Pad gets an optional axes input, used here for both F.pad calls:
    spatial axes only, one of them in reverse order with a negative axis."""
    model = onnx.load(os.path.join(OUT, "ops-opset17.onnx"))
    graph = model.graph

    def add_ints(name, values):
        graph.initializer.append(numpy_helper.from_array(np.array(values, dtype=np.int64), name))
        return name

    pads = iter([
        # axes [W, H] as [-1, 2]: begins then ends, in that axis order.
        ([-1, 2], lambda l, r, t, b: [l, t, r, b], OpsNet.PAD_REFLECT),
        ([2, 3], lambda l, r, t, b: [t, l, b, r], OpsNet.PAD_CONSTANT),
    ])
    # The F.pad calls compute their amounts; the exporter's all-zero Pads before AveragePool
    # take them from a Constant.
    constants = {o for n in graph.node if n.op_type == "Constant" for o in n.output}
    for node in graph.node:
        if node.op_type == "ReduceMean":
            axes = next(a for a in node.attribute if a.name == "axes")
            node.input.append(add_ints(f"{node.name}/axes", list(axes.ints)))
            node.attribute.remove(axes)
        elif node.op_type == "Pad" and node.input[1] not in constants:
            axes, order, amounts = next(pads)
            node.input[1] = add_ints(f"{node.name}/pads", order(*amounts))
            while len(node.input) < 3:
                node.input.append("")
            node.input.append(add_ints(f"{node.name}/axes", axes))
    if next(pads, None) is not None:
        raise RuntimeError("ops-opset17.onnx: fewer F.pad nodes than expected")
    drop_dead_nodes(graph)
    model.opset_import[0].version = 18
    # No onnx.checker here: onnx 1.12 knows opsets up to 17. src/model/onnx/onnx-parity.test.ts
    # runs this file under onnxruntime-web against the same PyTorch reference instead.
    onnx.save(model, os.path.join(OUT, "ops-opset18.onnx"))
    with open(os.path.join(OUT, "ops-opset17.json")) as f:
        ref = json.load(f)
    with open(os.path.join(OUT, "ops-opset18.json"), "w") as f:
        json.dump({**ref, "opset": 18}, f)
    print(f"ops-opset18: ops-opset17 rewritten, {len(graph.node)} nodes")


def upsample_model(gen, opset):
    """Hand-built (PyTorch exports Resize, never Upsample): Conv, Identity on an activation and
    on an initializer (as exporters share weights), Upsample nearest and linear by 2 x 1.5,
    Concat, 1x1 Conv. Upsample-7 (opsets 7-8) takes scales as an attribute, Upsample-9 as an
    input; both use asymmetric coordinates (source = output / scale). PyTorch reference:
    nearest is F.interpolate's floor(o / s); linear is align_corners=True on the input with one
    replicated row and column appended, whose last output row and column are dropped (source
    o * L / (s * L) = o / s, and the appended sample is the edge clamp)."""
    w1 = torch.randn(4, 3, 3, 3, generator=gen) * 0.5
    b1 = torch.randn(4, generator=gen) * 0.2
    w2 = torch.randn(3, 8, 1, 1, generator=gen) * 0.5
    b2 = torch.randn(3, generator=gen) * 0.2
    x = torch.rand(2, 3, 5, 4, generator=gen)
    sh, sw = 2.0, 1.5
    c1 = F.conv2d(x, w1, b1, padding=1)
    near = F.interpolate(c1, scale_factor=(sh, sw), mode="nearest")
    h, w = int(5 * sh), int(4 * sw)
    lin = F.interpolate(F.pad(c1, (0, 1, 0, 1), mode="replicate"), size=(h + 1, w + 1), mode="bilinear",
                        align_corners=True)[:, :, :h, :w]
    y = F.conv2d(torch.cat([near, lin], 1), w2, b2)
    scales = [1.0, 1.0, sh, sw]
    init = [numpy_helper.from_array(t.numpy(), n) for t, n in [(w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2")]]

    def upsample(name, mode):
        if opset < 9:
            return helper.make_node("Upsample", ["c1_id"], [name], name=name, mode=mode, scales=scales)
        return helper.make_node("Upsample", ["c1_id", "scales"], [name], name=name, mode=mode)

    if opset >= 9:
        init.append(numpy_helper.from_array(np.array(scales, dtype=np.float32), "scales"))
    nodes = [
        helper.make_node("Conv", ["input", "w1", "b1"], ["c1"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Identity", ["c1"], ["c1_id"], name="identity_activation"),
        upsample("up_nearest", "nearest"),
        upsample("up_linear", "linear"),
        helper.make_node("Concat", ["up_nearest", "up_linear"], ["cat"], name="concat", axis=1),
        helper.make_node("Identity", ["b2"], ["b2_shared"], name="identity_initializer"),
        helper.make_node("Conv", ["cat", "w2", "b2_shared"], ["logits"], name="head"),
    ]
    graph = helper.make_graph(
        nodes, "upsample", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 5, 4])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 3, h, w])], init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    name = f"upsample-opset{opset}"
    onnx.save(model, os.path.join(OUT, f"{name}.onnx"))
    with open(os.path.join(OUT, f"{name}.json"), "w") as f:
        json.dump({"opset": opset, "input": enc(x), "eval": enc(y)}, f)
    print(f"{name}: hand-built, out {tuple(y.shape)}")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)

    resnet = CifarResNet(depth=8, num_classes=10, widths=(4, 8, 16))
    randomise_norms(resnet, gen)
    x = torch.rand(4, 3, 16, 16, generator=gen)
    export("resnet-tiny", resnet, x, 13)

    seg = TinySegmenter()
    randomise_norms(seg, gen)
    export("segmenter-tiny", seg, torch.rand(2, 3, 16, 16, generator=gen), 11)

    ops = OpsNet()
    randomise_norms(ops, gen)
    x = torch.rand(3, 3, 20, 18, generator=gen)
    for opset in (11, 13, 17):
        export(f"ops-opset{opset}", ops, x, opset)

    auto_pad_model(gen)

    smooth = SmoothNet()
    randomise_norms(smooth, gen)
    smooth.fc.weight.data.mul_(10)
    export("smooth-tiny", smooth, torch.rand(3, 3, 8, 8, generator=gen), 13)

    export("resize-modes", ResizeNet(), torch.rand(2, 3, 6, 5, generator=gen), 13, with_train=False)

    # Added later: after every earlier fixture, so their random draws stay the same.
    ops_opset18()
    for opset in (8, 9):
        upsample_model(gen, opset)


if __name__ == "__main__":
    main()
