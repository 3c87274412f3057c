"""The reference for core/benches/train_step.rs: PyTorch eager, torchattacks PGD-7
(eps 8/255, alpha 2/255, random start) in eval mode, then a train-mode SGD step.

Arguments: batch, timed steps, threads, then one NAS-Bench-201 cell string per architecture.
Prints one line per architecture: images per second."""
import sys
import time

import torch
import torchattacks

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from nb201 import TinyNetwork  # noqa: E402

batch, steps, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
for arch in sys.argv[4:]:
    torch.manual_seed(0)
    net = TinyNetwork(arch, 10, [0.49, 0.48, 0.45], [0.25, 0.24, 0.26])
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    atk = torchattacks.PGD(net, eps=8 / 255, alpha=2 / 255, steps=7, random_start=True)
    x = torch.rand(batch, 3, 32, 32)
    y = torch.randint(0, 10, (batch,))

    def step():
        net.eval()
        adv = atk(x, y)
        net.train()
        loss = torch.nn.functional.cross_entropy(net(adv), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()
    t = time.time()
    for _ in range(steps):
        step()
    print(steps * batch / (time.time() - t), flush=True)
