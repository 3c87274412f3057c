"""The reference for core/benches/ntk_robust.rs: PyTorch eager, the same computation: PGD-7
(eps 8/255, step 2/255, uniform random start) with BatchNorm in training mode, then TE-NAS's
NTK (one forward of the batch, a backward per image of its summed logits, gradients of every
parameter), the float64 kernel and its smallest eigenvalue. Prints seconds per architecture.

argv: batch side threads cell...
"""
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from nb201 import TinyNetwork  # noqa: E402

batch, side, threads, cells = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
torch.set_num_threads(threads)
eps, alpha = 8 / 255, 2 / 255


def ntk_robust(net, x, y):
    adv = torch.clamp(x + torch.empty_like(x).uniform_(-eps, eps), 0, 1)
    for _ in range(7):
        adv.requires_grad_(True)
        (g,) = torch.autograd.grad(F.cross_entropy(net(adv), y), adv)
        adv = torch.min(torch.max(adv.detach() + alpha * g.sign(), x - eps), x + eps).clamp(0, 1)
    params = [p for p in net.parameters()]
    logits = net(adv)
    rows = []
    for i in range(len(adv)):
        gs = torch.autograd.grad(logits[i].sum(), params, retain_graph=True, allow_unused=True)
        rows.append(torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1) for g, p in zip(gs, params)]))
    j = torch.stack(rows).double()
    return torch.linalg.eigvalsh(j @ j.T)[0].item()


out = []
for cell in cells:
    net = TinyNetwork(cell, 10, [0.306] * 3, [0.376] * 3).train()
    x = torch.rand(batch, 3, side, side)
    y = torch.randint(0, 10, (batch,))
    t = time.time()
    ntk_robust(net, x, y)
    out.append(time.time() - t)
print(" ".join(f"{s:.6f}" for s in out))
