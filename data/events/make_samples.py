#!/usr/bin/env python3
"""Write the tiny event sample files in data/events/ and, beside each, the events it must decode to.

Usage (from the repository root):

    python3 -m venv /tmp/ev && /tmp/ev/bin/pip install numpy h5py
    /tmp/ev/bin/python data/events/make_samples.py

Each sample's expected events are written out literally below (EXPECTED_*), and the bytes are
encoded from them here, with Python's struct/numpy/h5py and the published layouts, independently of
Eligo's Rust decoders. The decoders must give back exactly the `*.expected.csv` rows
(t in µs, x, y, p; y = p = 0 for 1-D streams). The files are generated, not recorded: no third-party
data, same licence as the project.

Layouts (see docs/events.md for the references):
- Eligo .npy: structured array [('t', '<u8'), ('addr', '<u4')] (+ ('p', '|u1')).
- tonic .npy: vision [('x','<i2'),('y','<i2'),('t','<i8'),('p','?')], audio [('t','<i8'),('x','<i8'),('p','<i8')].
- AEDAT 2.0: '#!AER-DAT2.0\\r\\n' + '#' lines, then big-endian (int32 address, int32 timestamp).
  DVS128 address, as jAER's DVS128 extractor reads it: bit 0 = 1 is OFF (p = 0), bits 1-7 are
  127 - x, bits 8-14 y; bit 15 or 31 set marks a special (external/sync) event.
- EVT 2.0: '%' header lines, little-endian 32-bit words; CD: type(4) | t_low(6) | x(11) | y(11);
  TIME_HIGH: 1000 | t bits 6..33.
- N-MNIST: 5 bytes: x, y, p<<7 | t[22:16], t[15:8], t[7:0]; y == 240 is an overflow marker that adds
  2**13 µs to all later timestamps.
- SHD: HDF5 datasets spikes/times (vlen float32, seconds), spikes/units (vlen uint16), labels.
"""

import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def path(name):
    return os.path.join(HERE, name)


def write_expected(name, rows):
    with open(path(name + ".expected.csv"), "w") as f:
        f.write("t,x,y,p\n")
        for t, x, y, p in rows:
            f.write(f"{t},{x},{y},{p}\n")


# ---- Eligo .npy ---------------------------------------------------------------------------------
EXPECTED_ELIGO = [  # (t_us, addr): sorted by time then address, with coincident events
    (0, 0), (0, 3), (1000, 1), (1000, 2), (1000, 2), (2500, 7), (4000, 0), (4999, 7),
]
a = np.array(EXPECTED_ELIGO, dtype=[("t", "<u8"), ("addr", "<u4")])
np.save(path("eligo.npy"), a)
write_expected("eligo.npy", [(t, x, 0, 0) for t, x in EXPECTED_ELIGO])

EXPECTED_ELIGO_P = [(5, 1, 0), (6, 1, 1), (70000, 4294967295, 1)]  # (t, addr, p)
a = np.array(EXPECTED_ELIGO_P, dtype=[("t", "<u8"), ("addr", "<u4"), ("p", "u1")])
np.save(path("eligo_p.npy"), a)
write_expected("eligo_p.npy", [(t, x, 0, p) for t, x, p in EXPECTED_ELIGO_P])

# ---- tonic .npy ---------------------------------------------------------------------------------
EXPECTED_TONIC_VISION = [  # (t, x, y, p), N-MNIST-like 34x34
    (10, 0, 0, True), (11, 33, 0, False), (500, 5, 17, True), (500, 33, 33, False), (123456, 1, 2, True),
]
a = np.zeros(len(EXPECTED_TONIC_VISION), dtype=[("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "?")])
for i, (t, x, y, p) in enumerate(EXPECTED_TONIC_VISION):
    a[i] = (x, y, t, p)
np.save(path("tonic_vision.npy"), a)
write_expected("tonic_vision.npy", [(t, x, y, int(p)) for t, x, y, p in EXPECTED_TONIC_VISION])

EXPECTED_TONIC_AUDIO = [(1000, 699, 0), (1500, 0, 0), (1500, 350, 0), (999999, 12, 0)]  # (t, x, p)
a = np.array(EXPECTED_TONIC_AUDIO, dtype=[("t", "<i8"), ("x", "<i8"), ("p", "<i8")])
np.save(path("tonic_audio.npy"), a)
write_expected("tonic_audio.npy", [(t, x, 0, p) for t, x, p in EXPECTED_TONIC_AUDIO])

# ---- AEDAT 2.0, DVS128 addresses ------------------------------------------------------------------
EXPECTED_DVS128 = [  # (t, x, y, p) as jAER shows them; times cross the int32 sign bit (2**31)
    (0, 127, 0, 1), (7, 0, 0, 0), (7, 127, 127, 0), (100, 63, 32, 1), (2**31 + 5, 126, 2, 0),
]
EXTERNAL_AT = 2  # an external event (bit 15) inserted before this index: skipped by the dvs128 layout
with open(path("dvs128.aedat"), "wb") as f:
    f.write(b"#!AER-DAT2.0\r\n")
    f.write(b"# This is a raw AE data file - do not edit\r\n")
    f.write(b"# Data format is int32 address, int32 timestamp (8 bytes total), repeated for each event\r\n")
    f.write(b"# Timestamps tick is 1 us\r\n")
    f.write(b"# AEChip: ch.unizh.ini.jaer.chip.retina.DVS128\r\n")
    raw = []
    for i, (t, x, y, p) in enumerate(EXPECTED_DVS128):
        if i == EXTERNAL_AT:
            ext = (1 << 15, 7)
            f.write(struct.pack(">II", *ext))
            raw.append((ext[1], ext[0]))
        addr = (1 - p) | ((127 - x) << 1) | (y << 8)
        f.write(struct.pack(">II", addr, t))
        raw.append((t, addr))
write_expected("dvs128.aedat", EXPECTED_DVS128)
write_expected("dvs128.aedat.raw", [(t, a, 0, 0) for t, a in raw])

# ---- Prophesee EVT 2.0 ----------------------------------------------------------------------------
EXPECTED_EVT2 = [  # (t, x, y, p) on a 640x480 sensor; times span several time-high periods
    (0, 0, 0, 1), (63, 639, 479, 0), (64, 10, 20, 1), (64, 11, 20, 1), (1000, 320, 240, 0),
    (2**30 + 3, 1, 1, 0),
]
with open(path("evt2.raw"), "wb") as f:
    f.write(b"% camera_integrator_name Eligo-samples\n% evt 2.0\n% format EVT2;height=480;width=640\n")
    f.write(b"% geometry 640x480\n% end\n")
    high = None
    for i, (t, x, y, p) in enumerate(EXPECTED_EVT2):
        th = t >> 6
        if th != high:
            f.write(struct.pack("<I", (0b1000 << 28) | th))
            high = th
        if i == 3:
            f.write(struct.pack("<I", (0b1010 << 28) | 1))  # an external trigger: skipped
        f.write(struct.pack("<I", (p << 28) | ((t & 63) << 22) | (x << 11) | y))
write_expected("evt2.raw", EXPECTED_EVT2)

# ---- N-MNIST .bin ---------------------------------------------------------------------------------
# records as written by the sensor: (x, y, p, ts23); 240 in y marks an overflow
RECORDS_NMNIST = [
    (0, 0, 1, 0), (33, 33, 0, 1234), (17, 5, 1, 8000), (0, 240, 0, 0), (2, 3, 0, 10),
    (0, 240, 0, 0), (4, 4, 1, 20),
]
EXPECTED_NMNIST = [  # written by hand from the records above: +8192 per overflow marker before
    (0, 0, 0, 1), (1234, 33, 33, 0), (8000, 17, 5, 1), (8202, 2, 3, 0), (16404, 4, 4, 1),
]
with open(path("nmnist.bin"), "wb") as f:
    for x, y, p, ts in RECORDS_NMNIST:
        f.write(bytes([x, y, (p << 7) | (ts >> 16), (ts >> 8) & 0xFF, ts & 0xFF]))
write_expected("nmnist.bin", EXPECTED_NMNIST)

# ---- SHD HDF5 -------------------------------------------------------------------------------------
try:
    import h5py
except ImportError:  # the HDF5 sample is optional: the reader is behind a cargo feature
    h5py = None
if h5py is not None:
    SAMPLES_SHD = [  # (times in s, units), label
        (([0.0, 0.0125, 0.5], [3, 699, 3]), 4),
        (([0.001, 0.001, 0.25, 0.75], [10, 2, 10, 0]), 19),
    ]
    EXPECTED_SHD_SAMPLE1 = [(1000, 10, 0, 0), (1000, 2, 0, 0), (250000, 10, 0, 0), (750000, 0, 0, 0)]
    with h5py.File(path("shd.h5"), "w") as f:
        ft = h5py.vlen_dtype(np.dtype("float32"))
        ut = h5py.vlen_dtype(np.dtype("uint16"))
        times = f.create_dataset("spikes/times", (len(SAMPLES_SHD),), dtype=ft)
        units = f.create_dataset("spikes/units", (len(SAMPLES_SHD),), dtype=ut)
        for i, ((t, u), _) in enumerate(SAMPLES_SHD):
            times[i] = np.array(t, dtype="float32")
            units[i] = np.array(u, dtype="uint16")
        f.create_dataset("labels", data=np.array([lab for _, lab in SAMPLES_SHD], dtype="uint16"))
    write_expected("shd.h5.sample1", EXPECTED_SHD_SAMPLE1)

print("wrote samples to", HERE)
