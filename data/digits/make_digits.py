"""Export the UCI optical-recognition-of-handwritten-digits 8x8 set (as scikit-learn ships it)
into digits.npz for Eligo's `digits` task.

Run once:  python3 -m venv /tmp/skl && /tmp/skl/bin/pip install scikit-learn numpy
           /tmp/skl/bin/python data/digits/make_digits.py

Writes data/digits/digits.npz (numpy.savez_compressed) with
  images  uint8, shape (1797, 64): pixel counts 0..16, row-major 8x8, in load_digits order
  labels  uint8, shape (1797,):    digit 0..9
The order is scikit-learn's; the Eligo task takes the first 1397 samples for training and
validation and the last 400 as the test set.
"""

import pathlib

import numpy as np
from sklearn.datasets import load_digits

d = load_digits()
images = d.data.astype(np.uint8)
assert images.shape == (1797, 64) and images.min() == 0 and images.max() == 16
assert np.array_equal(images.astype(d.data.dtype), d.data)
labels = d.target.astype(np.uint8)
assert labels.shape == (1797,) and set(labels.tolist()) == set(range(10))
out = pathlib.Path(__file__).with_name("digits.npz")
np.savez_compressed(out, images=images, labels=labels)
print(f"wrote {out}: {images.shape[0]} samples, label counts {np.bincount(labels).tolist()}")
