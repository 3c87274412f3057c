"""What the attack references share: a robbench job folder as a PyTorch network and images,
and AutoAttack standard composed from torchattacks' attacks.

A job folder holds arch.txt (cell string, classes, mean, std), weights.safetensors and
eval.safetensors (x, y).
"""
import sys

import torchattacks
from safetensors.torch import load_file

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from nb201 import TinyNetwork  # noqa: E402


def load_job(folder):
    """The network (eval mode) and the images of a job folder."""
    lines = open(f"{folder}/arch.txt").read().split("\n")
    net = TinyNetwork(lines[0], int(lines[1]), [float(v) for v in lines[2].split(",")], [float(v) for v in lines[3].split(",")])
    net.load_state_dict(load_file(f"{folder}/weights.safetensors"), strict=True)
    net.eval()
    data = load_file(f"{folder}/eval.safetensors")
    return net, data["x"], data["y"]


def fab_t(net, eps):
    """FAB-T as AutoAttack standard runs it: 100 steps, 9 target classes, one restart."""
    return torchattacks.FAB(net, norm="Linf", eps=eps, steps=100, n_restarts=1, seed=0, multi_targeted=True, n_classes=10)


def autoattack_standard(net, eps):
    """APGD-CE and APGD-T with 100 steps, FAB-T, Square with 5,000 queries, each on the points
    the earlier ones missed (torchattacks' MultiAttack). torchattacks' own AutoAttack class is
    not used: it runs APGD, APGD-T and FAB with their default 10 steps."""
    return torchattacks.MultiAttack([
        torchattacks.APGD(net, norm="Linf", eps=eps, steps=100, n_restarts=1, seed=0, loss="ce"),
        torchattacks.APGDT(net, norm="Linf", eps=eps, steps=100, n_restarts=1, seed=0, n_classes=10),
        fab_t(net, eps),
        torchattacks.Square(net, norm="Linf", eps=eps, n_queries=5000, n_restarts=1, p_init=0.8, loss="margin", resc_schedule=False, seed=0),
    ])
