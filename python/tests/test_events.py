"""`eligo.events` against the sample files' plainly decoded events (data/events/*.csv,
written independently of Eligo) and against `eligo events convert|info` (the CLI)."""

import csv
import json
import subprocess

import numpy as np
import pytest

import eligo
from eligo import events

# file, read options, expected csv, 2-D
SAMPLES = [
    ("eligo.npy", {}, "eligo.npy.expected.csv", False),
    ("eligo_p.npy", {}, "eligo_p.npy.expected.csv", False),
    ("tonic_vision.npy", {}, "tonic_vision.npy.expected.csv", True),
    ("tonic_audio.npy", {}, "tonic_audio.npy.expected.csv", False),
    ("dvs128.aedat", {"aedat_chip": "dvs128"}, "dvs128.aedat.expected.csv", True),
    ("dvs128.aedat", {}, "dvs128.aedat.raw.expected.csv", False),
    ("evt2.raw", {}, "evt2.raw.expected.csv", True),
    ("nmnist.bin", {}, "nmnist.bin.expected.csv", True),
    ("shd.h5", {"sample": 1}, "shd.h5.sample1.expected.csv", False),
]


def expected(root, name):
    with open(root / "data" / "events" / name) as f:
        return [tuple(int(v) for v in (r["t"], r["x"], r["y"], r["p"])) for r in csv.DictReader(f)]


def read_or_skip(path, **opts):
    try:
        return events.read(path, **opts)
    except eligo.InputError as e:
        if "without HDF5 support" in str(e):
            pytest.skip("built without HDF5")
        raise


@pytest.mark.parametrize("name,opts,csv_name,two_d", SAMPLES)
def test_read_equals_the_plainly_decoded_events(root, name, opts, csv_name, two_d):
    got = read_or_skip(root / "data" / "events" / name, **opts)
    want = expected(root, csv_name)
    assert len(got) == len(want) > 0
    if two_d:
        assert got.dtype == events.XYP_DTYPE
        rows = [(int(e["t"]), int(e["x"]), int(e["y"]), int(e["p"])) for e in got]
    else:
        assert got.dtype in (events.SPIKE_DTYPE, events.SPIKE_P_DTYPE)
        p = got["p"] if "p" in got.dtype.names else np.zeros(len(got), dtype=np.uint8)
        rows = [(int(t), int(a), 0, int(q)) for t, a, q in zip(got["t"], got["addr"], p)]
    assert rows == want


@pytest.mark.parametrize("name,opts", [
    ("eligo_p.npy", {}),
    ("tonic_vision.npy", {"width": 34, "height": 34}),
    ("tonic_audio.npy", {"merge_polarity": True}),
    ("dvs128.aedat", {"aedat_chip": "dvs128", "pool": "2x4"}),
    ("evt2.raw", {"t_start_us": "first", "time_scale": "1/2"}),
    ("nmnist.bin", {"width": 40, "height": 40}),
])
def test_mapped_read_equals_events_convert(root, eligo_bin, tmp_path, name, opts):
    src = root / "data" / "events" / name
    out = tmp_path / "out.npy"
    flags = []
    for k, v in opts.items():
        flags += [f"--{k.replace('_', '-')}"] + ([] if v is True else [str(v)])
    subprocess.run([str(eligo_bin), "events", "convert", str(src), str(out), "--quiet", *flags],
                   check=True, capture_output=True)
    want = np.load(out)
    got = events.read(src, to_neurons=True, **opts)
    assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
    # the bytes as the CLI wrote them, after the .npy header
    assert out.read_bytes().endswith(got.tobytes())


def test_write_then_read_round_trips(tmp_path):
    ev = np.array([(0, 3), (1000, 1), (1000, 7), (2**31 - 1, 2**32 - 1)],
                  dtype=events.SPIKE_DTYPE)
    for name in ("a.npy", "a.aedat"):
        assert events.write(tmp_path / name, ev) == 4
        back = events.read(tmp_path / name)
        assert back.dtype == events.SPIKE_DTYPE and back.tobytes() == ev.tobytes(), name
    # numpy reads Eligo's .npy as the same array; it holds 64-bit times (AEDAT 2.0 cannot)
    assert np.load(tmp_path / "a.npy").tobytes() == ev.tobytes()
    far = np.array([(0, 1), (2**40, 2)], dtype=events.SPIKE_DTYPE)
    events.write(tmp_path / "far.npy", far)
    assert events.read(tmp_path / "far.npy").tobytes() == far.tobytes()
    with pytest.raises(eligo.InputError) as e:
        events.write(tmp_path / "far.aedat", far)
    assert e.value.file == str(tmp_path / "far.aedat") and not (tmp_path / "far.aedat").exists()
    evp = np.array([(5, 1, 0), (6, 1, 1)], dtype=events.SPIKE_P_DTYPE)
    events.write(tmp_path / "p.npy", evp)
    assert events.read(tmp_path / "p.npy").tobytes() == evp.tobytes()
    with pytest.raises(eligo.InputError) as e:
        events.write(tmp_path / "p.aedat", evp)
    assert "polarity" in str(e.value) and not (tmp_path / "p.aedat").exists()
    with pytest.raises(eligo.InputError) as e:
        events.write(tmp_path / "x.txt", ev)
    assert e.value.field == "OUT"


def test_a_bad_file_raises_input_error_naming_it(tmp_path):
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"\x93NUMPY\x01\x00\x10\x00{'descr': 'garbage'")
    with pytest.raises(eligo.InputError) as e:
        events.read(bad)
    assert e.value.file == str(bad)
    back = np.array([(10, 1), (5, 2)], dtype=events.SPIKE_DTYPE)
    np.save(tmp_path / "back.npy", back)
    with pytest.raises(eligo.InputError) as e:
        events.read(tmp_path / "back.npy")
    assert e.value.field == "event 1" and "sort" in e.value.hint
    assert events.read(tmp_path / "back.npy", sort=True)["t"].tolist() == [5, 10]
    with pytest.raises(eligo.InputError) as e:
        events.read(tmp_path / "missing.raw")
    assert e.value.file == str(tmp_path / "missing.raw")
    with pytest.raises(eligo.InputError) as e:
        events.read(tmp_path / "back.npy", aedat_chip="dvs12")
    assert e.value.field == "--aedat-chip" and "dvs128" in str(e.value)


@pytest.mark.parametrize("name,flags,kw", [
    ("evt2.raw", [], {}),
    ("dvs128.aedat", ["--aedat-chip", "dvs128", "--dt-ms", "0.5"],
     {"aedat_chip": "dvs128", "dt_ms": 0.5}),
    ("tonic_audio.npy", ["--dt-ms", "1", "--width", "700"], {"dt_ms": 1.0, "width": 700}),
])
def test_info_equals_the_cli_json(root, eligo_bin, name, flags, kw):
    src = root / "data" / "events" / name
    out = subprocess.run([str(eligo_bin), "events", "info", str(src), "--json", *flags],
                         check=True, capture_output=True, text=True).stdout
    assert events.info(src, **kw) == json.loads(out)


def test_the_replay_example_runs(root):
    import inspect
    import runpy
    import sys

    if "inputs" not in inspect.signature(eligo.simulate).parameters:
        pytest.skip("eligo.simulate has no inputs= yet")
    argv = sys.argv
    sys.argv = ["replay_events.py"]
    try:
        runpy.run_path(str(root / "python" / "examples" / "replay_events.py"), run_name="__main__")
    finally:
        sys.argv = argv
