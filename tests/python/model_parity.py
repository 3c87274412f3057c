"""Both directions of weight exchange with robbench, for every job folder given.

Each folder holds arch.txt (cell string, classes, mean, std), inputs.safetensors (x),
robbench.safetensors (weights exported by robbench) and robbench_logits.safetensors. This
script (1) loads robbench's weights into the PyTorch network (strict) and prints the max abs
logit difference, and (2) writes pytorch.safetensors (a PyTorch-initialised network with random
BatchNorm statistics, in eval mode) and pytorch_logits.safetensors for robbench to check.
"""
import sys

import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from nb201 import TinyNetwork  # noqa: E402

torch.manual_seed(0)
for job in sys.argv[1:]:
    lines = open(f"{job}/arch.txt").read().split("\n")
    arch, classes = lines[0], int(lines[1])
    mean = [float(v) for v in lines[2].split(",")]
    std = [float(v) for v in lines[3].split(",")]
    x = load_file(f"{job}/inputs.safetensors")["x"]
    net = TinyNetwork(arch, classes, mean, std)
    net.load_state_dict(load_file(f"{job}/robbench.safetensors"), strict=True)
    net.eval()
    with torch.no_grad():
        ours = net(x)
    theirs = load_file(f"{job}/robbench_logits.safetensors")["logits"]
    print(f"{job} {(ours - theirs).abs().max().item()!r}")

    ref = TinyNetwork(arch, classes, mean, std)
    for m in ref.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    ref.eval()
    with torch.no_grad():
        logits = ref(x)
    save_file({k: v.contiguous() for k, v in ref.state_dict().items()}, f"{job}/pytorch.safetensors")
    save_file({"logits": logits.contiguous()}, f"{job}/pytorch_logits.safetensors")
