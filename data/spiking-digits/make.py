#!/usr/bin/env python3
"""Make the synthetic "spiking digits" data set (data/spiking-digits/README.md).

10 classes of 700-channel spike patterns, 100 steps of 1 ms, 200 training and 100 test samples,
written three ways that describe the same samples in the same order:

  npy/NNNN.npy + npy/labels.csv   Eligo event files (t <u8 in us, addr <u4), file,label,split
  shd/spiking_digits_{train,test}.h5   the SHD HDF5 layout (spikes/times s, spikes/units, labels)
  dense.npz                       inputs (300, 100, 700) uint8 0/1, labels (300,), split (300,)

Each class has a prototype: 50 (channel, step) events, channels anywhere in 0..699, steps in
5..89. A sample is its class's prototype with every event kept with probability 0.9, its step
moved by round(N(0, 1.5)) and its channel by round(N(0, 1)) (both clipped to the grid), plus 30
noise spikes uniform over channels and steps 0..99. Spikes of one channel in one step are
merged (one spike), and a sample without a spike in its last step (99) gets one on a random
channel, so that every recording is exactly 100 steps long whatever the reader. An event of
step s is written at t = s ms + 0.5 ms (so binning at dt = 1 ms gives step s from the .npy
microseconds and from the HDF5 seconds alike).

Deterministic: numpy.random.default_rng(SEED); the arrays are the same on every run (the
.npz and .h5 containers carry no time stamps of their own that matter to a reader).

Usage: python3 make.py [OUT_DIR]   (default: the folder of this script; needs numpy and h5py)
"""

import os
import sys

import h5py
import numpy as np

SEED = 13
CLASSES = 10
CHANNELS = 700
STEPS = 100
TRAIN_PER_CLASS = 20
TEST_PER_CLASS = 10
PROTOTYPE_EVENTS = 50
KEEP = 0.9
JITTER_STEPS = 1.5
JITTER_CHANNELS = 1.0
NOISE_SPIKES = 30
DT_US = 1000


def make_samples(rng):
    protos = []
    for _ in range(CLASSES):
        ch = rng.integers(0, CHANNELS, PROTOTYPE_EVENTS)
        st = rng.integers(5, 90, PROTOTYPE_EVENTS)
        protos.append((ch, st))
    samples = []  # (label, split, sorted unique (step, channel) pairs)
    for split, per_class in (("train", TRAIN_PER_CLASS), ("test", TEST_PER_CLASS)):
        for k in range(per_class * CLASSES):
            label = k % CLASSES
            ch, st = protos[label]
            keep = rng.random(PROTOTYPE_EVENTS) < KEEP
            dst = np.rint(rng.normal(0.0, JITTER_STEPS, PROTOTYPE_EVENTS)).astype(np.int64)
            dch = np.rint(rng.normal(0.0, JITTER_CHANNELS, PROTOTYPE_EVENTS)).astype(np.int64)
            s = np.clip(st + dst, 0, STEPS - 1)[keep]
            c = np.clip(ch + dch, 0, CHANNELS - 1)[keep]
            ns = rng.integers(0, STEPS, NOISE_SPIKES)
            nc = rng.integers(0, CHANNELS, NOISE_SPIKES)
            s = np.concatenate([s, ns])
            c = np.concatenate([c, nc])
            if not np.any(s == STEPS - 1):
                s = np.append(s, STEPS - 1)
                c = np.append(c, rng.integers(0, CHANNELS))
            pairs = np.unique(np.stack([s, c], axis=1), axis=0)  # sorted by step, then channel
            samples.append((label, split, pairs))
    return samples


def write_npy(out, samples):
    d = os.path.join(out, "npy")
    os.makedirs(d, exist_ok=True)
    dtype = np.dtype([("t", "<u8"), ("addr", "<u4")])
    rows = ["file,label,split"]
    for i, (label, split, pairs) in enumerate(samples):
        ev = np.zeros(len(pairs), dtype=dtype)
        ev["t"] = pairs[:, 0] * DT_US + DT_US // 2
        ev["addr"] = pairs[:, 1]
        name = f"{i:04d}.npy"
        np.save(os.path.join(d, name), ev)
        rows.append(f"{name},{label},{split}")
    with open(os.path.join(d, "labels.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")


def write_shd(out, samples):
    d = os.path.join(out, "shd")
    os.makedirs(d, exist_ok=True)
    for split in ("train", "test"):
        part = [s for s in samples if s[1] == split]
        with h5py.File(os.path.join(d, f"spiking_digits_{split}.h5"), "w", track_order=True) as f:
            n = len(part)
            times = f.create_dataset(
                "spikes/times", (n,), dtype=h5py.vlen_dtype(np.float32), track_times=False
            )
            units = f.create_dataset(
                "spikes/units", (n,), dtype=h5py.vlen_dtype(np.uint16), track_times=False
            )
            for k, (_, _, pairs) in enumerate(part):
                times[k] = ((pairs[:, 0] * DT_US + DT_US // 2) / 1e6).astype(np.float32)
                units[k] = pairs[:, 1].astype(np.uint16)
            f.create_dataset(
                "labels",
                data=np.array([s[0] for s in part], dtype=np.uint8),
                track_times=False,
            )


def write_dense(out, samples):
    n = len(samples)
    inputs = np.zeros((n, STEPS, CHANNELS), dtype=np.uint8)
    for i, (_, _, pairs) in enumerate(samples):
        inputs[i, pairs[:, 0], pairs[:, 1]] = 1
    labels = np.array([s[0] for s in samples], dtype=np.int64)
    split = np.array([0 if s[1] == "train" else 2 for s in samples], dtype=np.int8)
    # compressed: 21 MB of mostly zeros stored would be 20 times the size (docs/data.md: a
    # compressed member is inflated into memory, fine at this size)
    np.savez_compressed(os.path.join(out, "dense.npz"), inputs=inputs, labels=labels, split=split)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    samples = make_samples(np.random.default_rng(SEED))
    write_npy(out, samples)
    write_shd(out, samples)
    write_dense(out, samples)
    spikes = sum(len(p) for _, _, p in samples)
    print(f"{len(samples)} samples, {spikes} spikes, written to {out}")


if __name__ == "__main__":
    main()
