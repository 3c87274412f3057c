"""torchattacks' attacks on robbench's weights and images.

argv: folder with arch.txt (cell string, classes, mean, std), weights.safetensors and
eval.safetensors (x, y), then the mode:
- basic: prints clean, FGSM-8/255, PGD-8/255 (10 steps of 2/255, no random start), APGD-CE and
  APGD-T (20 steps, 9 targets, seed 0) and Square (300 queries, p_init 0.8, AutoAttack's
  schedule, seed 0) correct counts;
- autoattack: prints the correct count under AutoAttack standard at 8/255 composed from
  torchattacks' attacks the standard way (APGD-CE and APGD-T with 100 steps, FAB
  multi-targeted with 9 targets and 100 steps, Square with 5,000 queries, each on the points
  the earlier ones missed: attack_ref.autoattack_standard);
- fab-t: prints the correct count under that FAB-T alone (a mode of its own, so that a test
  can run it in a second process beside the composition).
"""
import sys

import torch
import torchattacks

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from attack_ref import autoattack_standard, fab_t, load_job  # noqa: E402

net, x, y = load_job(sys.argv[1])


def correct(inputs):
    with torch.no_grad():
        return int((net(inputs).argmax(1) == y).sum())


mode = sys.argv[2]
if mode == "autoattack":
    print(correct(autoattack_standard(net, 8 / 255)(x, y)))
    sys.exit(0)
if mode == "fab-t":
    print(correct(fab_t(net, 8 / 255)(x, y)))
    sys.exit(0)
assert mode == "basic", mode

fgsm = torchattacks.FGSM(net, eps=8 / 255)
pgd = torchattacks.PGD(net, eps=8 / 255, alpha=2 / 255, steps=10, random_start=False)
apgd = torchattacks.APGD(net, eps=8 / 255, steps=20, n_restarts=1, seed=0, loss="ce", rho=0.75)
apgdt = torchattacks.APGDT(net, eps=8 / 255, steps=20, n_restarts=1, seed=0, rho=0.75, n_classes=10)
square = torchattacks.Square(net, norm="Linf", eps=8 / 255, n_queries=300, n_restarts=1, p_init=0.8, loss="margin", resc_schedule=False, seed=0)
print(correct(x), correct(fgsm(x, y)), correct(pgd(x, y)), correct(apgd(x, y)), correct(apgdt(x, y)), correct(square(x, y)))
