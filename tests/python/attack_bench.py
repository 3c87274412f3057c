"""The reference for core/benches/attacks.rs: torchattacks in PyTorch eager, timed.

argv: threads, then either
- digits FOLDER: the network and images that folder holds (as for attack_parity.py); prints
  seconds and correct count for PGD-20 at 8/255 (step 2.5*eps/20, random start), then for
  AutoAttack standard at 8/255 composed from torchattacks' attacks the standard way;
- cifar CELL BATCH: a freshly initialised 10-class network on BATCH random 3x32x32 images;
  prints seconds for PGD-20 at 8/255.
"""
import sys
import time

import torch
import torchattacks

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from attack_ref import autoattack_standard, load_job  # noqa: E402
from nb201 import TinyNetwork  # noqa: E402

torch.set_num_threads(int(sys.argv[1]))
eps = 8 / 255


def timed(attack, x, y):
    start = time.perf_counter()
    adv = attack(x, y)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        return seconds, int((net(adv).argmax(1) == y).sum())


if sys.argv[2] == "digits":
    net, x, y = load_job(sys.argv[3])
    torch.manual_seed(0)
    pgd = torchattacks.PGD(net, eps=eps, alpha=2.5 * eps / 20, steps=20, random_start=True)
    aa = autoattack_standard(net, eps)
    print(*timed(pgd, x, y), *timed(aa, x, y))
else:
    cell, batch = sys.argv[3], int(sys.argv[4])
    torch.manual_seed(0)
    net = TinyNetwork(cell, 10, [0.49, 0.48, 0.45], [0.25, 0.24, 0.26]).eval()
    x = torch.rand(batch, 3, 32, 32)
    y = torch.randint(0, 10, (batch,))
    pgd = torchattacks.PGD(net, eps=eps, alpha=2.5 * eps / 20, steps=20, random_start=True)
    timed(pgd, x[:8], y[:8])  # warm-up
    print(timed(pgd, x, y)[0])
