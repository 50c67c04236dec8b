"""Event files: read, write and describe every format ``eligo events`` reads.

Formats (detected from the magic bytes or the extension, or named with ``format=``): Eligo's
own ``.npy`` (``npy``), tonic's structured ``.npy`` (``tonic``), AEDAT 2.0 (``aedat``),
Prophesee EVT 2.0 ``.raw`` (``evt2``), N-MNIST / N-Caltech101 ``.bin`` (``nmnist``) and
Spiking Heidelberg Digits HDF5 (``shd``, when the extension was built with HDF5). The
readers are the engine's (the CLI's, docs/events.md): bad bytes raise
:class:`eligo.InputError` naming the file, the event or byte offset and what to try.

Arrays are NumPy structured arrays with tonic's field names, times in µs:

- :data:`SPIKE_DTYPE` ``t <u8, addr <u4`` (1-D streams: addresses, channels, neurons),
- :data:`SPIKE_P_DTYPE` ``t <u8, addr <u4, p |u1`` (1-D with polarity),
- :data:`XYP_DTYPE` ``t <u8, x <u4, y <u2, p |u1`` (2-D sensors).
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Optional, Union

import numpy as np

from . import _eligo
from ._eligo import InputError

__all__ = ["SPIKE_DTYPE", "SPIKE_P_DTYPE", "XYP_DTYPE", "info", "read", "write"]

#: 1-D events (Eligo's ``.npy``, ``spikes_<pop>.npy``): ``t`` µs, ``addr``.
SPIKE_DTYPE = np.dtype([("t", "<u8"), ("addr", "<u4")])
#: 1-D events with a polarity.
SPIKE_P_DTYPE = np.dtype([("t", "<u8"), ("addr", "<u4"), ("p", "u1")])
#: 2-D sensor events: column ``x``, row ``y``, polarity ``p`` (1 ON, 0 OFF).
XYP_DTYPE = np.dtype([("t", "<u8"), ("x", "<u4"), ("y", "<u2"), ("p", "u1")])

_LAYOUTS = {"1d": SPIKE_DTYPE, "1d_p": SPIKE_P_DTYPE, "2d": XYP_DTYPE}

PathLike = Union[str, "os.PathLike[str]"]


def _opts(
    format: Optional[str],
    aedat_chip: Optional[str],
    sample: Optional[int],
    sort: bool,
    width: Optional[int],
    height: Optional[int],
    pool: Union[None, int, str],
    merge_polarity: bool,
    map_table: Optional[PathLike],
    t_start_us: Union[None, int, str],
    time_scale: Union[None, int, str],
) -> Dict[str, Any]:
    return {
        "format": format,
        "aedat_chip": aedat_chip,
        "sample": sample,
        "sort": bool(sort),
        "width": width,
        "height": height,
        "pool": None if pool is None else str(pool),
        "merge_polarity": bool(merge_polarity),
        "map_table": None if map_table is None else os.fspath(map_table),
        "t_start_us": None if t_start_us is None else str(t_start_us),
        "time_scale": None if time_scale is None else str(time_scale),
    }


def read(
    path: PathLike,
    format: Optional[str] = None,
    aedat_chip: Optional[str] = None,
    sample: Optional[int] = None,
    sort: bool = False,
    width: Optional[int] = None,
    height: Optional[int] = None,
    pool: Union[None, int, str] = None,
    merge_polarity: bool = False,
    map_table: Optional[PathLike] = None,
    t_start_us: Union[None, int, str] = None,
    time_scale: Union[None, int, str] = None,
    to_neurons: bool = False,
) -> np.ndarray:
    """Read the event file ``path`` into a structured array (times in µs).

    Without a map option the events are as the file holds them: :data:`XYP_DTYPE` for 2-D
    sensors (AEDAT with ``aedat_chip="dvs128"``, EVT 2.0, N-MNIST, tonic vision),
    :data:`SPIKE_P_DTYPE` for 1-D streams with a polarity (tonic audio, Eligo's ``.npy`` with
    ``p``), else :data:`SPIKE_DTYPE`. With any map option, or ``to_neurons=True``, the events
    are mapped to neuron indices exactly as ``eligo events convert`` writes them to ``.npy``
    (``t``, ``addr``, and ``p`` for a 1-D stream whose polarity no option folds away).

    Options (as the CLI's flags): ``format`` (npy, tonic, aedat, evt2, nmnist, shd; default
    detected), ``aedat_chip`` (raw, the default, or dvs128), ``sample`` (SHD sample, default
    0), ``sort`` (sort by time first; without it time going backwards raises InputError);
    map: ``width``/``height`` (sensor size, overriding the file's; index = p*W*H + y*W + x),
    ``pool`` (N or "NxM"), ``merge_polarity``, ``map_table`` (a text file with one neuron per
    line), ``t_start_us`` (µs or "first": the time origin, earlier events skipped),
    ``time_scale`` (N or "N/D", e.g. 1000 for a file in ms).

    The whole file is held in memory (12 to 15 bytes an event); the GIL is released while it
    is read.
    """
    o = _opts(format, aedat_chip, sample, sort, width, height, pool, merge_polarity,
              map_table, t_start_us, time_scale)
    raw, layout = _eligo.events_read(os.fspath(path), o, bool(to_neurons))
    # the packed records the engine hands over, viewed in place (no copy)
    return raw.view(_LAYOUTS[layout])


def write(path: PathLike, events: np.ndarray, to: Optional[str] = None) -> int:
    """Write 1-D ``events`` (fields ``t`` µs and ``addr``; ``p`` kept if present) to ``path``:
    Eligo's ``.npy`` or AEDAT 2.0 raw addresses (``to="npy"|"aedat"``, else from the
    extension ``.npy``/``.aedat``), as ``eligo events convert`` writes them: atomically
    (a temporary name, then renamed). Returns the number of events written.

    Times must not go backwards for the file to replay (``read(..., sort=True)`` sorts);
    AEDAT cannot hold a polarity field (InputError). 2-D events: map them first
    (``addr = p*W*H + y*W + x``) or keep them in their own format.
    """
    arr = np.asarray(events)
    names = arr.dtype.names or ()
    if arr.ndim != 1 or "t" not in names or "addr" not in names:
        msg = (f"events = array of dtype {arr.dtype}: must be a 1-D structured array with "
               "fields t (µs) and addr (and optionally p), like eligo.events.SPIKE_DTYPE")
        e = InputError(msg)
        e.file, e.field, e.value = os.fspath(path), "events", f"array of dtype {arr.dtype}"
        e.allowed, e.hint = "a 1-D structured array with fields t, addr and optionally p", ""
        raise e
    cols = []
    for name, dtype in (("t", np.uint64), ("addr", np.uint32), ("p", np.uint8)):
        if name not in names:
            cols.append(None)
            continue
        col = arr[name]
        if len(col) and (col.min() < 0 or col.max() > np.iinfo(dtype).max):
            e = InputError(f"events.{name}: values must be between 0 and {np.iinfo(dtype).max}")
            e.file, e.field, e.value = os.fspath(path), f"events.{name}", str(col.min())
            e.allowed, e.hint = f"between 0 and {np.iinfo(dtype).max}", ""
            raise e
        cols.append(np.ascontiguousarray(col, dtype=dtype))
    return _eligo.events_write(os.fspath(path), cols[0], cols[1], cols[2], to)


def info(
    path: PathLike,
    format: Optional[str] = None,
    aedat_chip: Optional[str] = None,
    sample: Optional[int] = None,
    sort: bool = False,
    width: Optional[int] = None,
    height: Optional[int] = None,
    pool: Union[None, int, str] = None,
    merge_polarity: bool = False,
    map_table: Optional[PathLike] = None,
    t_start_us: Union[None, int, str] = None,
    time_scale: Union[None, int, str] = None,
    dt_ms: Optional[float] = None,
) -> Dict[str, Any]:
    """What ``eligo events info --json`` reports for ``path``, as a dict: ``format``,
    ``fields``, ``width``/``height``, ``events``, ``t_first_us``/``t_last_us``,
    ``t_min_us``/``t_max_us``, ``span_s``, ``rate_hz``, ``x_min``.., ``polarity`` counts,
    ``backwards`` (times going backwards; ``first_backwards_event``), ``skipped_records``,
    ``header``; with ``dt_ms`` also ``binning`` (spikes per step after the map, events the clip
    policy folds). Reads the file once, in bounded memory. Options as :func:`read`.
    """
    o = _opts(format, aedat_chip, sample, sort, width, height, pool, merge_polarity,
              map_table, t_start_us, time_scale)
    return json.loads(_eligo.events_info(os.fspath(path), o, dt_ms))
