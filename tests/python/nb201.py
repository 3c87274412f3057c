"""An independent PyTorch NAS-Bench-201 network (TinyNetwork, C=16, N=5), written from
NAS-Bench-201's definition, with the input normalisation as its first step.

State-dict names follow NAS-Bench-201: stem.0/1, cells.i.layers.j.op.1/2 (ReLUConvBN),
cells.i.conv_a/conv_b/downsample.1 (ResNetBasicblock), lastact.0, classifier.
"""
import torch
import torch.nn as nn

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


def parse(arch_str):
    nodes = arch_str.split("+")
    return [[tok.split("~")[0] for tok in n.strip("|").split("|")] for n in nodes]


class ReLUConvBN(nn.Module):
    def __init__(self, cin, cout, k, stride, pad):
        super().__init__()
        self.op = nn.Sequential(nn.ReLU(inplace=False), nn.Conv2d(cin, cout, k, stride, pad, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return self.op(x)


class Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)


class Pool(nn.Module):
    def __init__(self):
        super().__init__()
        self.op = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)

    def forward(self, x):
        return self.op(x)


def make_op(name, c):
    return {
        "none": lambda: Zero(),
        "skip_connect": lambda: nn.Identity(),
        "nor_conv_1x1": lambda: ReLUConvBN(c, c, 1, 1, 0),
        "nor_conv_3x3": lambda: ReLUConvBN(c, c, 3, 1, 1),
        "avg_pool_3x3": lambda: Pool(),
    }[name]()


class InferCell(nn.Module):
    def __init__(self, ops, c):
        super().__init__()
        self.layers = nn.ModuleList()
        self.inputs = []
        for node, names in enumerate(ops):
            for src, name in enumerate(names):
                self.layers.append(make_op(name, c))
                self.inputs.append((node + 1, src))

    def forward(self, x):
        nodes = [x]
        for node in (1, 2, 3):
            nodes.append(sum(self.layers[i](nodes[src]) for i, (n, src) in enumerate(self.inputs) if n == node))
        return nodes[-1]


class ResNetBasicblock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv_a = ReLUConvBN(cin, cout, 3, 2, 1)
        self.conv_b = ReLUConvBN(cout, cout, 3, 1, 1)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, 2, 0), nn.Conv2d(cin, cout, 1, 1, 0, bias=False))

    def forward(self, x):
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class TinyNetwork(nn.Module):
    def __init__(self, arch_str, num_classes, mean, std, C=16, N=5):
        super().__init__()
        ops = parse(arch_str)
        self.register_buffer("_mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("_std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.stem = nn.Sequential(nn.Conv2d(3, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        cells = []
        c_prev = C
        for stage, c in enumerate([C, 2 * C, 4 * C]):
            if stage > 0:
                cells.append(ResNetBasicblock(c_prev, c))
                c_prev = c
            for _ in range(N):
                cells.append(InferCell(ops, c))
        self.cells = nn.ModuleList(cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x):
        x = (x - self._mean) / self._std
        x = self.stem(x)
        for cell in self.cells:
            x = cell(x)
        x = self.global_pooling(self.lastact(x)).flatten(1)
        return self.classifier(x)
