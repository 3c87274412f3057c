"""Writes a CIFAR-10-C folder in the published layout (one corruption), for the loader test,
plus malformed variants.

Image i (0..49999) of gaussian_noise.npy has HWC pixel j = (7 * i + j) % 256; labels.npy holds
i % 10 as uint8. In the `bad` subfolder: float32 images, a (10000, 32, 32, 3) file, a file
whose data stop short of its header's shape, and 49,999 labels.
"""
import os
import sys

import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
i = np.arange(50000, dtype=np.int64)[:, None]
j = np.arange(3072, dtype=np.int64)[None, :]
np.save(os.path.join(out, "gaussian_noise.npy"), ((7 * i + j) % 256).astype(np.uint8).reshape(50000, 32, 32, 3))
np.save(os.path.join(out, "labels.npy"), (np.arange(50000) % 10).astype(np.uint8))

bad = os.path.join(out, "bad")
os.makedirs(bad, exist_ok=True)
np.save(os.path.join(bad, "shot_noise.npy"), np.zeros((2, 32, 32, 3), dtype=np.float32))
np.save(os.path.join(bad, "snow.npy"), np.zeros((10000, 32, 32, 3), dtype=np.uint8))
with open(os.path.join(bad, "fog.npy"), "wb") as f:
    np.lib.format.write_array_header_1_0(f, {"descr": "|u1", "fortran_order": False, "shape": (50000, 32, 32, 3)})
    f.write(b"\0" * 1000)
np.save(os.path.join(bad, "frost.npy"), np.zeros((50000, 32, 32, 3), dtype=np.uint8))
np.save(os.path.join(bad, "labels.npy"), np.zeros(49999, dtype=np.uint8))
