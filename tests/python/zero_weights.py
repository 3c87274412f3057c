"""Writes a copy of a safetensors checkpoint with every tensor zeroed: a network whose outputs
do not depend on its input, so every input gradient is exactly zero (AutoAttack's
zero-gradient check must fire on it).

argv: IN OUT
"""
import sys

import torch
from safetensors.torch import load_file, save_file

save_file({k: torch.zeros_like(v) for k, v in load_file(sys.argv[1]).items()}, sys.argv[2])
