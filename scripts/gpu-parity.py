"""PyTorch's side of scripts/gpu-check.sh's attack parity: a network's weights, as robbench-worker
saved them, evaluated by the independent references of the test suite (tests/python/nb201.py's
TinyNetwork, torchattacks' PGD and AutoAttack standard as attack_ref composes it) on DEVICE, on the
first N test images of a CIFAR-10 binary folder; prints the correct counts as JSON.

    python3 scripts/gpu-parity.py WEIGHTS CELL DATA_DIR N DEVICE

torchattacks is not on the GPU image: carry its wheel (the device README says how).
"""
import json
import os
import sys

import numpy as np
import torch
import torchattacks
from safetensors.torch import load_file

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "python"))
from attack_ref import autoattack_standard  # noqa: E402
from nb201 import TinyNetwork  # noqa: E402

weights, cell, data, n, device = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
# CIFAR-10's normalisation (SPEC section 6).
mean = [125.3 / 255, 123.0 / 255, 113.9 / 255]
std = [63.0 / 255, 62.1 / 255, 66.7 / 255]
raw = np.fromfile(os.path.join(data, "cifar-10-batches-bin", "test_batch.bin"), dtype=np.uint8).reshape(-1, 3073)[:n]
y = torch.from_numpy(raw[:, 0].astype(np.int64)).to(device)
x = torch.from_numpy(raw[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0).to(device)
net = TinyNetwork(cell, 10, mean, std)
net.load_state_dict(load_file(weights), strict=True)
net = net.to(device).eval()


def correct(inputs):
    with torch.no_grad():
        return int((net(inputs).argmax(1) == y).sum())


eps = 8 / 255
# robbench's pgd8: PGD-20, step 2.5 eps / 20, random start.
pgd = torchattacks.PGD(net, eps=eps, alpha=2.5 * eps / 20, steps=20, random_start=True)
print(json.dumps({"n_eval": n, "device": device, "clean": correct(x), "pgd8": correct(pgd(x, y)),
                  "aa8": correct(autoattack_standard(net, eps)(x, y))}))
