"""Reference training-free scores, written from the published recipes with PyTorch idioms
(torch.func for Jacobians, module hooks as foresight/NASLib use them), on robbench's weights
and batch.

argv: folder with arch.txt (cell string, classes, mean, std, resolution), weights.safetensors,
batch.safetensors (x, y) and config.json ({"scores": [...], "eps": e or null, "beta": b,
"train_mode": bool}); the attack is FGSM. Prints a JSON object score -> value.
"""
import copy
import json
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file
from torch.func import functional_call, jacrev

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from nb201 import TinyNetwork  # noqa: E402

job = sys.argv[1]
lines = open(f"{job}/arch.txt").read().split("\n")
arch, classes = lines[0], int(lines[1])
mean, std = [float(v) for v in lines[2].split(",")], [float(v) for v in lines[3].split(",")]
resolution = int(lines[4])
net = TinyNetwork(arch, classes, mean, std)
net.load_state_dict(load_file(f"{job}/weights.safetensors"), strict=True)
batch = load_file(f"{job}/batch.safetensors")
x, y = batch["x"], batch["y"]
cfg = json.load(open(f"{job}/config.json"))
train_mode = cfg["train_mode"]
net.train(train_mode)

ROBUST = {"ntk_robust", "ntk_twice", "ntk_mixed", "ntk_mixed_twice"}


def fgsm(inputs, eps):
    inputs = inputs.clone().requires_grad_(True)
    loss = F.cross_entropy(net(inputs), y)
    (g,) = torch.autograd.grad(loss, inputs)
    return torch.clamp(inputs + eps * g.sign(), 0, 1).detach()


def eps_for(score):
    if score in ROBUST:
        return cfg["eps"] if cfg["eps"] is not None else 8 / 255
    if score == "ntk_clean":
        return None
    return cfg["eps"] if cfg["eps"] else None


params = {k: v.detach() for k, v in net.named_parameters()}
buffers = {k: v for k, v in net.named_buffers()}


def jacobian(inputs, per_image):
    """B x P: row i the gradient of per_image(outputs)[i] with respect to every parameter."""

    def f(p):
        # Fresh buffers per call: training-mode BatchNorm updates them in place.
        return per_image(functional_call(net, (p, {k: v.clone() for k, v in buffers.items()}), (inputs,)))

    jac = jacrev(f)(params)
    return torch.cat([jac[k].reshape(inputs.shape[0], -1) for k in sorted(jac)], 1).double()


def ntk(inputs):
    return jacobian(inputs, lambda out: out.sum(-1))


def lambda_min(k):
    return torch.linalg.eigvalsh(k)[0].item()


def layers(model):
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def weight_grads(inputs, create_graph=False):
    ws = [m.weight for m in layers(net)]
    loss = F.cross_entropy(net(inputs), y)
    return ws, torch.autograd.grad(loss, ws, create_graph=create_graph)


def score(name):
    eps = eps_for(name)
    inputs = fgsm(x, eps) if eps else x
    if name == "ntk_clean":
        j = ntk(x)
        return lambda_min(j @ j.T)
    if name in ("ntk_robust", "ntk_twice"):
        adv = fgsm(x, eps)
        if name == "ntk_twice":
            adv = fgsm(adv, eps)
        j = ntk(adv)
        return lambda_min(j @ j.T)
    if name in ("ntk_mixed", "ntk_mixed_twice"):
        b = cfg["beta"]
        adv = fgsm(x, eps)
        if name == "ntk_mixed_twice":
            adv = fgsm(adv, eps)
        j1, j2 = ntk(x), ntk(adv)
        k, r, c = j1 @ j1.T, j2 @ j2.T, j1 @ j2.T
        return lambda_min((1 - b) ** 2 * k + b * (1 - b) * (c + c.T) + b**2 * r)
    if name == "ntk_cond":
        e = torch.linalg.eigvalsh((lambda j: j @ j.T)(ntk(inputs)))
        return (e[-1] / e[0]).item()
    if name == "knas":
        g = jacobian(inputs, lambda out: F.cross_entropy(out, y, reduction="none"))
        return (g @ g.T).mean().item()
    if name == "grad_norm":
        _, gs = weight_grads(inputs)
        return sum(g.norm().item() for g in gs)
    if name == "snip":
        ws, gs = weight_grads(inputs)
        return sum((w * g).abs().double().sum().item() for w, g in zip(ws, gs))
    if name == "plain":
        ws, gs = weight_grads(inputs)
        return sum((w * g).double().sum().item() for w, g in zip(ws, gs))
    if name == "grasp":
        ws, g0 = weight_grads(inputs)
        g0 = [g.detach() for g in g0]
        _, gf = weight_grads(inputs, create_graph=True)
        z = sum((a * b).sum() for a, b in zip(g0, gf))
        hg = torch.autograd.grad(z, ws)
        return sum((-w.detach() * h).double().sum().item() for w, h in zip(ws, hg))
    if name == "fisher":
        acts = []

        def hook(module, inp, out):
            out.retain_grad()
            acts.append((module, out))

        handles = [m.register_forward_hook(hook) for m in layers(net)]
        loss = F.cross_entropy(net(inputs), y)
        loss.backward()
        for h in handles:
            h.remove()
        total = 0.0
        for m, a in acts:
            if a.grad is None:
                continue
            ag = (a.detach() * a.grad).double()
            g_nk = ag.sum(dim=(2, 3)) if ag.dim() > 2 else ag
            del_k = g_nk.pow(2).mean(0) * 0.5
            total += (del_k * m.weight[0].numel()).sum().item()
        net.zero_grad()
        return total
    if name == "jacov":
        xi = inputs.clone().requires_grad_(True)
        out = net(xi)
        out.backward(torch.ones_like(out))
        jac = (xi.grad.double() * torch.tensor(std, dtype=torch.float64).view(1, 3, 1, 1)).reshape(len(xi), -1).numpy()
        net.zero_grad()
        v, _ = np.linalg.eig(np.corrcoef(jac))
        v = np.real(v)
        k = 1e-5
        return float(-np.sum(np.log(v + k) + 1.0 / (v + k)))
    if name == "nwot":
        kmat = np.zeros((len(inputs), len(inputs)))

        def hook(module, inp, out):
            c = (inp[0].reshape(inp[0].size(0), -1) > 0).double()
            nonlocal kmat
            kmat = kmat + (c @ c.T).numpy() + ((1 - c) @ (1 - c).T).numpy()

        handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.ReLU)]
        with torch.no_grad():
            net(inputs)
        for h in handles:
            h.remove()
        return float(np.linalg.slogdet(kmat)[1])
    if name == "synflow":
        m = copy.deepcopy(net)
        for mod in list(m.modules()):
            for child_name, child in list(mod.named_children()):
                if isinstance(child, nn.BatchNorm2d):
                    setattr(mod, child_name, nn.Identity())
        m._mean.zero_()
        m._std.fill_(1.0)
        m = m.double()
        with torch.no_grad():
            for p in m.state_dict().values():
                p.abs_()
        out = m(torch.ones(1, 3, resolution, resolution, dtype=torch.float64))
        out.sum().backward()
        return sum((mod.weight * mod.weight.grad).abs().sum().item() for mod in layers(m))
    if name == "l2_norm":
        return sum(m.weight.norm().item() for m in layers(net))
    if name == "params":
        return float(sum(p.numel() for p in net.parameters() if p.requires_grad))
    if name == "flops":
        macs = []

        def hook(module, inp, out):
            if isinstance(module, nn.Conv2d):
                k = module.kernel_size[0] * module.kernel_size[1]
                macs.append(module.in_channels * module.out_channels * k * out.shape[2] * out.shape[3])
            else:
                macs.append(module.in_features * module.out_features + module.out_features)

        m = copy.deepcopy(net).eval()
        handles = [mod.register_forward_hook(hook) for mod in layers(m)]
        with torch.no_grad():
            m(torch.rand(1, 3, resolution, resolution))
        for h in handles:
            h.remove()
        # A cell's convolutions run once per image whatever edges feed them.
        return sum(macs) / 1e6
    raise SystemExit(f"unknown score {name}")


print(json.dumps({s: score(s) for s in cfg["scores"]}))
