"""Small U-Net-style encoder-decoder with BatchNorm for CamVid at 160x120.

Input: RGB in [0, 1], NCHW, H and W divisible by 8; no mean/std step (the first conv is
followed by BatchNorm, which absorbs input scaling). Output: per-pixel logits (N, 11, H, W).
Only Conv, BatchNormalization, Relu, MaxPool, ConvTranspose and Concat appear in the
exported graph, so every importer op it needs is common and differentiable in tfjs.
"""
import torch
import torch.nn as nn


def conv_bn_relu(cin, cout):
    return [nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def double_conv(cin, cout):
    return nn.Sequential(*conv_bn_relu(cin, cout), *conv_bn_relu(cout, cout))


class Up(nn.Module):
    """2x transposed-conv upsampling, concat with the skip, two conv-BN-ReLU."""

    def __init__(self, cin, cskip, cout):
        super().__init__()
        self.up = nn.Sequential(nn.ConvTranspose2d(cin, cout, 2, 2, bias=False),
                                nn.BatchNorm2d(cout), nn.ReLU(inplace=True))
        self.conv = double_conv(cout + cskip, cout)

    def forward(self, x, skip):
        return self.conv(torch.cat([self.up(x), skip], 1))


class DilatedResidual(nn.Module):
    """x + ReLU(BN(3x3 conv with dilation d)): context at the 1/8-resolution bottleneck, where
    a 20x15 map makes wide receptive fields cheap (pooling further would need H divisible by 16)."""

    def __init__(self, c, dilation):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, 1, dilation, dilation, bias=False),
                                  nn.BatchNorm2d(c), nn.ReLU(inplace=True))

    def forward(self, x):
        return x + self.body(x)


class CamVidUNet(nn.Module):
    def __init__(self, num_classes=11, widths=(16, 32, 64, 128), context=()):
        super().__init__()
        w0, w1, w2, w3 = widths
        self.enc0 = double_conv(3, w0)
        self.enc1 = double_conv(w0, w1)
        self.enc2 = double_conv(w1, w2)
        self.enc3 = double_conv(w2, w3)
        self.context = nn.Sequential(*(DilatedResidual(w3, d) for d in context))
        self.pool = nn.MaxPool2d(2)
        self.up2 = Up(w3, w2, w2)
        self.up1 = Up(w2, w1, w1)
        self.up0 = Up(w1, w0, w0)
        self.head = nn.Conv2d(w0, num_classes, 1)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) and m is not self.head:
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        e0 = self.enc0(x)
        e1 = self.enc1(self.pool(e0))
        e2 = self.enc2(self.pool(e1))
        e3 = self.context(self.enc3(self.pool(e2)))
        d = self.up2(e3, e2)
        d = self.up1(d, e1)
        d = self.up0(d, e0)
        return self.head(d)


def net_from_args(args):
    """The network a training run's arguments (train_camvid.py, saved in its checkpoint) describe;
    runs from before --widths/--context existed used the defaults."""
    widths = tuple(int(w) for w in args.get("widths", "16,32,64,128").split(","))
    context = tuple(int(d) for d in args.get("context", "").split(",") if d)
    return CamVidUNet(widths=widths, context=context)
