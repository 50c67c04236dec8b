"""``eligo.grad``: the gradients of one batch, as ``eligo grad`` computes them."""

from __future__ import annotations

import io
import os
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _eligo
from ._eligo import InputError

ArrayLike = Union[np.ndarray, Sequence[float]]


def _input_error(field: str, value: str, allowed: str, hint: str = "") -> InputError:
    # the engine's message layout: "field = value: allowed (hint)"
    msg = f"{field} = {value}: {allowed}" + (f" ({hint})" if hint else "")
    e = InputError(msg)
    e.file, e.field, e.value, e.allowed, e.hint = None, field, value, allowed, hint
    return e


def _spikes(a: object, field: str) -> Tuple[np.ndarray, np.ndarray]:
    """``t`` (uint64 µs) and ``addr`` (uint32) of a structured spike array, contiguous."""
    arr = np.asarray(a)
    names = arr.dtype.names or ()
    if arr.ndim != 1 or "t" not in names or "addr" not in names:
        raise _input_error(
            field,
            f"array of dtype {arr.dtype} and shape {arr.shape}",
            "must be a 1-D structured array with fields t (µs) and addr, like eligo.SPIKE_DTYPE",
            "build one with np.array(list_of_(t, addr), dtype=eligo.SPIKE_DTYPE), or read a file "
            "with eligo.events.read",
        )
    out = []
    for name, dtype in (("t", np.uint64), ("addr", np.uint32)):
        col = arr[name]
        if col.dtype.kind not in "ui":
            raise _input_error(
                f"{field}.{name}", f"dtype {col.dtype}", "must be an integer field", ""
            )
        if len(col) and (col.min() < 0 or col.max() > np.iinfo(dtype).max):
            bad = int(np.argmax((col < 0) | (col > np.iinfo(dtype).max)))
            raise _input_error(
                f"{field}[{bad}].{name}",
                str(col[bad]),
                f"must be between 0 and {np.iinfo(dtype).max}",
                "",
            )
        out.append(np.ascontiguousarray(col, dtype=dtype))
    return out[0], out[1]


def _targets(t: object) -> Tuple[list, np.ndarray]:
    a = np.asarray(t)
    if a.dtype.kind not in "fiu":
        raise _input_error(
            "targets", f"dtype {a.dtype}", "must be a float array of shape [steps, n_out]"
        )
    return list(a.shape), np.ascontiguousarray(a, dtype=np.float32).ravel()


def _per_sequence(value: object, n: int, name: str) -> list:
    """``value`` for each of ``n`` sequences: a list of ``n`` (one each) or one shared."""
    if isinstance(value, list):
        if len(value) != n:
            raise _input_error(
                name,
                f"a list of {len(value)}",
                f"must hold one entry per sequence ({n}), or be one value for all",
            )
        return value
    return [value] * n


def _weights_npz(weights: Mapping[str, object]) -> bytes:
    """``weights`` (projection -> dense ``[post, pre]`` array, ``(indptr, indices, data)``,
    a dict of those three or a scipy CSR matrix; ``R/bias`` -> array) as ``.npz`` bytes."""
    arrays: Dict[str, np.ndarray] = {}
    for name, w in weights.items():
        if hasattr(w, "indptr") and hasattr(w, "indices") and hasattr(w, "data"):
            parts = (w.indptr, w.indices, w.data)
        elif isinstance(w, Mapping):
            parts = (w["indptr"], w["indices"], w["data"])
        elif isinstance(w, tuple) and len(w) == 3:
            parts = w
        else:
            arrays[name] = np.asarray(w)
            continue
        for part, v in zip(("indptr", "indices", "data"), parts):
            arrays[f"{name}/{part}"] = np.asarray(v)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _params(params: object) -> list:
    if params is None:
        return []
    if isinstance(params, Mapping):
        return [f"{k}={v}" for k, v in params.items()]
    if isinstance(params, str):
        return [params]
    return [str(p) for p in params]


def _window(w: object) -> Optional[str]:
    if w is None or isinstance(w, str):
        return w
    lo, hi = w  # (from_ms, to_ms)
    return f"{float(lo)!r}:{float(hi)!r}"


def _list(x: object) -> list:
    if x is None:
        return []
    if isinstance(x, (str, os.PathLike)):
        return [os.fspath(x)]
    return [os.fspath(v) if isinstance(v, os.PathLike) else v for v in x]


def grad(
    net: "Network",
    inputs: Union[np.ndarray, Sequence[np.ndarray]],
    targets: Union[None, ArrayLike, Sequence[Optional[ArrayLike]]] = None,
    class_: Union[None, int, Sequence[Optional[int]]] = None,
    window_ms: Union[None, str, Tuple[float, float]] = None,
    rule: Union[None, str, Sequence[str]] = "eprop",
    params: Union[None, Mapping[str, object], Sequence[str]] = None,
    weights: Optional[Mapping[str, object]] = None,
    feedback_matrix: Union[None, str, "os.PathLike[str]", np.ndarray] = None,
    input_population: Optional[str] = None,
    modulators: Optional[Mapping[str, ArrayLike]] = None,
    rule_config: Union[None, str, Sequence[str]] = None,
    plugin_dir: Union[None, str, Sequence[str]] = None,
    threads: Optional[int] = None,
    label: Union[None, int, Sequence[Optional[int]]] = None,
) -> Dict[str, np.ndarray]:
    """The gradients of ``rule`` on ``net`` for one batch: ``eligo grad``'s results.

    Returns a dict name -> NumPy array with the same names and values, bit for bit, as the
    members of the ``.npz`` that ``eligo grad`` writes (docs/grad.md): ``grad/P/data``,
    ``grad/P/indptr``, ``grad/P/indices`` for every projection a rule learns (CSR by
    presynaptic neuron, as ``weights/P/...``), ``grad/R/bias``, ``grad/B`` (adaptive feedback),
    ``weights/...`` (the weights differentiated), ``loss`` (0-d float64); for one sequence also
    ``spikes/P/step``, ``spikes/P/addr`` and ``errors`` (``steps x n_out`` float32), for a
    batch ``sequence_losses``.

    Args:
        net: an :class:`eligo.Network`; its ``duration_ms`` is the sequence length.
        inputs: the input spikes, a structured array with fields ``t`` (µs) and ``addr``
            (:data:`eligo.SPIKE_DTYPE`), driving ``input_population``: one sequence (as
            ``--input``); or a list of them, a whole batch computed as one training iteration
            (as ``--batch-inputs``: gradients summed, the loss the batch's mean). Events at or
            after the end are dropped; an address beyond the population raises InputError.
        targets: regression targets, a float ``steps x n_out`` array (mean squared error); with
            a batch, one shared array or a list with one per sequence (None: ``class_``'s).
        class_: classification target class (softmax cross-entropy over ``window_ms``), an int
            or, with a batch, a list with one per sequence. ``label`` is the same.
        window_ms: the decision window ``"FROM:TO"`` or ``(from_ms, to_ms)`` (classification).
        rule: learning rule(s), plugin names (see :func:`eligo.plugins`) or library paths.
        params: rule parameters, ``{"NAME": value}`` or ``["NAME=VALUE", ...]`` (``--param``;
            with several rules ``RULE.NAME``).
        weights: projection name -> dense ``[n_post, n_pre]`` array, ``(indptr, indices, data)``
            or a ``scipy.sparse.csr_matrix`` (structure equal to the network's); ``R/bias`` ->
            readout biases. None: the weights the description draws.
        feedback_matrix: e-prop's B, ``[n_rec, n_out]`` (array or ``.npy`` path), as
            ``--feedback-matrix``.
        input_population: the source population the input drives (default: the first).
        modulators: channel name -> float array with one value per step (``--modulator``).
        rule_config: rule config TOML file(s), one per rule (``--rule-config``).
        plugin_dir: extra directories to find plugins in (``--plugin-dir``).
        threads: worker threads of a batch (None: every core; any count gives the same bits).

    Raises :class:`eligo.InputError` with the CLI's messages (fields named as its flags:
    ``--targets``, ``--class``, ``--window-ms``, ``--feedback-matrix``, ...). The GIL is
    released while the engine computes; Ctrl-C (KeyboardInterrupt) stops one sequence within
    1000 steps, while a batch runs whole.
    """
    from . import Network

    if not isinstance(net, Network):
        raise TypeError(f"net must be an eligo.Network, not {type(net).__name__}")
    if label is not None:
        if class_ is not None:
            raise _input_error("label", str(label), "give class_ or label, not both")
        class_ = label
    if targets is not None and class_ is not None:
        raise _input_error(
            "--class", str(class_), "give targets (regression) or class_ (classification), not both"
        )
    batch = isinstance(inputs, (list, tuple))
    seqs = list(inputs) if batch else [inputs]
    n = len(seqs)
    spikes = [_spikes(s, f"inputs[{k}]" if batch else "inputs") for k, s in enumerate(seqs)]
    if batch:
        tgt = _per_sequence(targets, n, "targets")
        cls = _per_sequence(class_, n, "class_")
    else:
        tgt, cls = [targets], [class_]
    tgt = [None if t is None else _targets(t) for t in tgt]
    cls = [None if c is None else int(c) for c in cls]
    for c in cls:
        if c is not None and c < 0:
            raise _input_error("--class", str(c), "must be a class number, 0 or more")
    mods = []
    for name, v in (modulators or {}).items():
        a = np.asarray(v)
        mods.append((name, list(a.shape), np.ascontiguousarray(a, dtype=np.float32).ravel()))
    w = None if weights is None else _weights_npz(weights)
    import tempfile  # here, not at import time: it costs ~10 ms of `import eligo`

    with tempfile.TemporaryDirectory(prefix="eligo-grad-") as tmp:
        b = feedback_matrix
        if b is not None and not isinstance(b, (str, os.PathLike)):
            # the rule reads B from a file, as with --feedback-matrix
            path = os.path.join(tmp, "B.npy")
            np.save(path, np.asarray(b))
            b = path
        arrays, _loss = _eligo.grad(
            net._net,
            spikes,
            batch,
            tgt,
            cls,
            window_ms=_window(window_ms),
            rule=_list(rule),
            rule_config=_list(rule_config),
            plugin_dir=_list(plugin_dir),
            param=_params(params),
            modulator=mods,
            weights=w,
            feedback_matrix=None if b is None else os.fspath(b),
            input_population=input_population,
            threads=threads,
        )
    return arrays
