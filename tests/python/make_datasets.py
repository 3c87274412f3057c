"""Writes small data sets in the exact published layouts, for the loader tests:
CIFAR-10 and CIFAR-100 binary and python versions, and ImageNet16 pickles.

Image i of a split has pixel j = (7 * i + j + offset) % 256 (offset 0 train, 128 test), in the
published order (3 x 32 x 32 planes, or 3 x 16 x 16); CIFAR-10 label i % 10, CIFAR-100 fine
label i % 100 (coarse i % 20); ImageNet16 label 1 + (i * 37) % 1000.
"""
import os
import pickle
import sys

import numpy as np

out = sys.argv[1]
N_BATCH = 12  # images per CIFAR training batch file


def pixels(n, size, offset):
    i = np.arange(n)[:, None]
    j = np.arange(size)[None, :]
    return ((7 * i + j + offset) % 256).astype(np.uint8)


def cifar10():
    b = os.path.join(out, "cifar-10-batches-bin")
    p = os.path.join(out, "cifar-10-batches-py")
    os.makedirs(b, exist_ok=True)
    os.makedirs(p, exist_ok=True)
    x = pixels(5 * N_BATCH, 3072, 0)
    y = np.arange(5 * N_BATCH) % 10
    for k in range(5):
        xs, ys = x[k * N_BATCH:(k + 1) * N_BATCH], y[k * N_BATCH:(k + 1) * N_BATCH]
        rec = np.concatenate([ys[:, None].astype(np.uint8), xs], axis=1)
        rec.tofile(os.path.join(b, f"data_batch_{k + 1}.bin"))
        with open(os.path.join(p, f"data_batch_{k + 1}"), "wb") as f:
            pickle.dump({b"batch_label": b"training batch", b"labels": ys.tolist(), b"data": xs, b"filenames": []}, f, protocol=2)
    xt, yt = pixels(10, 3072, 128), np.arange(10) % 10
    np.concatenate([yt[:, None].astype(np.uint8), xt], axis=1).tofile(os.path.join(b, "test_batch.bin"))
    with open(os.path.join(p, "test_batch"), "wb") as f:
        pickle.dump({b"batch_label": b"testing batch", b"labels": yt.tolist(), b"data": xt, b"filenames": []}, f, protocol=2)


def cifar100():
    b = os.path.join(out, "cifar-100-binary")
    p = os.path.join(out, "cifar-100-python")
    os.makedirs(b, exist_ok=True)
    os.makedirs(p, exist_ok=True)
    for name, n, offset in (("train", 30, 0), ("test", 10, 128)):
        x = pixels(n, 3072, offset)
        fine, coarse = np.arange(n) % 100, np.arange(n) % 20
        rec = np.concatenate([coarse[:, None].astype(np.uint8), fine[:, None].astype(np.uint8), x], axis=1)
        rec.tofile(os.path.join(b, f"{name}.bin"))
        with open(os.path.join(p, name), "wb") as f:
            pickle.dump({b"data": x, b"fine_labels": fine.tolist(), b"coarse_labels": coarse.tolist()}, f, protocol=2)


def imagenet16():
    d = os.path.join(out, "ImageNet16")
    os.makedirs(d, exist_ok=True)
    for k in range(1, 11):
        n = 40
        i = np.arange(n) + (k - 1) * n
        x = ((7 * i[:, None] + np.arange(768)[None, :]) % 256).astype(np.uint8)
        labels = (1 + (i * 37) % 1000).tolist()
        with open(os.path.join(d, f"train_data_batch_{k}"), "wb") as f:
            pickle.dump({"data": x, "labels": labels, "mean": np.zeros(768)}, f, protocol=4)
    i = np.arange(50)
    x = ((7 * i[:, None] + np.arange(768)[None, :] + 128) % 256).astype(np.uint8)
    with open(os.path.join(d, "val_data"), "wb") as f:
        pickle.dump({"data": x, "labels": (1 + (i * 37) % 1000).tolist()}, f, protocol=2)


cifar10()
cifar100()
imagenet16()
