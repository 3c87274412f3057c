"""Writes a CIFAR-10-shaped data set in the published binary layout for scripts/gpu-check.sh:
N training images (default 10,000, five data_batch files) and 1,000 test images, 3x32x32.

Pixels are drawn from a fixed seed; the label of an image is which tenth of the brightness range
its mean falls in, so a network can learn it and accuracies move as on real data (throughput does
not depend on the content).

    python3 scripts/make-gpu-check-data.py OUT_DIR [N]
"""
import os
import sys

import numpy as np

out = os.path.join(sys.argv[1], "cifar-10-batches-bin")
n = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(2024)


def images(count):
    base = rng.integers(0, 256, size=(count, 1), dtype=np.int64)
    noise = rng.integers(-48, 49, size=(count, 3072), dtype=np.int64)
    x = np.clip(base + noise, 0, 255).astype(np.uint8)
    y = np.minimum(x.mean(axis=1) // 25.6, 9).astype(np.uint8)
    return np.concatenate([y[:, None], x], axis=1)


per = n // 5
for k in range(5):
    images(per if k < 4 else n - 4 * per).tofile(os.path.join(out, f"data_batch_{k + 1}.bin"))
images(1000).tofile(os.path.join(out, "test_batch.bin"))
print(f"wrote {n} training and 1000 test images to {out}")
