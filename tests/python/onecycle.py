"""PyTorch's OneCycleLR (defaults, max_lr given) stepped like the trainer: prints, per step, the
lr and momentum the optimizer uses for that step."""
import sys

import torch

max_lr, total = float(sys.argv[1]), int(sys.argv[2])
p = torch.nn.Parameter(torch.zeros(1))
opt = torch.optim.SGD([p], lr=max_lr, momentum=0.9, weight_decay=5e-4)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=total)
for _ in range(total):
    g = opt.param_groups[0]
    print(f"{g['lr']!r},{g['momentum']!r}")
    opt.step()
    sched.step()
