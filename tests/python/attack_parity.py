"""torchattacks' FGSM and PGD (random start off) on robbench's weights and images.

argv: folder with arch.txt (cell string, classes, mean, std), weights.safetensors and
eval.safetensors (x, y); prints clean, FGSM-8/255, PGD-8/255 (10 steps of 2/255), APGD-CE
APGD-T (20 steps, 9 targets, seed 0) and Square (300 queries, p_init 0.8, AutoAttack's
schedule, seed 0) correct counts.
"""
import sys

import torch
import torchattacks
from safetensors.torch import load_file

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from nb201 import TinyNetwork  # noqa: E402

job = sys.argv[1]
lines = open(f"{job}/arch.txt").read().split("\n")
net = TinyNetwork(lines[0], int(lines[1]), [float(v) for v in lines[2].split(",")], [float(v) for v in lines[3].split(",")])
net.load_state_dict(load_file(f"{job}/weights.safetensors"), strict=True)
net.eval()
data = load_file(f"{job}/eval.safetensors")
x, y = data["x"], data["y"]


def correct(inputs):
    with torch.no_grad():
        return int((net(inputs).argmax(1) == y).sum())


fgsm = torchattacks.FGSM(net, eps=8 / 255)
pgd = torchattacks.PGD(net, eps=8 / 255, alpha=2 / 255, steps=10, random_start=False)
apgd = torchattacks.APGD(net, eps=8 / 255, steps=20, n_restarts=1, seed=0, loss="ce", rho=0.75)
apgdt = torchattacks.APGDT(net, eps=8 / 255, steps=20, n_restarts=1, seed=0, rho=0.75, n_classes=10)
square = torchattacks.Square(net, norm="Linf", eps=8 / 255, n_queries=300, n_restarts=1, p_init=0.8, loss="margin", resc_schedule=False, seed=0)
print(correct(x), correct(fgsm(x, y)), correct(pgd(x, y)), correct(apgd(x, y)), correct(apgdt(x, y)), correct(square(x, y)))
