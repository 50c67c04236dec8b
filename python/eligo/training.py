"""``eligo.train``: a training run, exactly as ``eligo train`` runs it, from Python."""

from __future__ import annotations

import json
import math
import os
import warnings
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _eligo
from ._eligo import InputError

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["TrainResult", "TrainSample", "train"]


def _input_error(field: str, value: object, allowed: str, hint: str) -> InputError:
    """An InputError laid out as the engine's (``FIELD = VALUE: ALLOWED (HINT)``)."""
    e = InputError(f"{field} = {value}: {allowed}" + (f" ({hint})" if hint else ""))
    e.file, e.field, e.value, e.allowed, e.hint = None, field, str(value), allowed, hint
    return e


def _paths(v: Union[None, PathLike, Sequence[PathLike]]) -> List[str]:
    if v is None:
        return []
    if isinstance(v, (str, os.PathLike)):
        return [os.fspath(v)]
    return [os.fspath(p) for p in v]


def _param_text(v: object) -> str:
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float):
        return repr(v)  # the shortest text that reads back as the same float
    return str(v)


class TrainSample:
    """One sample run once with the trained weights, no learning (:meth:`TrainResult.sample`).

    Attributes:
        spikes: population -> structured array of :data:`eligo.SPIKE_DTYPE` (``t`` µs,
            ``addr``), for the input population and the recurrent (LIF/ALIF) populations.
        y: the readout's outputs, float32 ``steps x outputs``.
        targets: the targets, same shape (regression), else an empty array.
        label: the class label (classification), else None.
        steps: steps of the sequence; dt_ms: the time step (ms).
    """

    __slots__ = ("spikes", "y", "targets", "label", "steps", "dt_ms")

    def __init__(self, raw: dict) -> None:
        from . import SPIKE_DTYPE

        self.spikes = {p: b.view(SPIKE_DTYPE) for p, b in raw["spikes"].items()}
        self.y = raw["y"]
        self.targets = raw["targets"]
        self.label = raw["label"]
        self.steps = raw["steps"]
        self.dt_ms = raw["dt_ms"]

    def __repr__(self) -> str:
        n = {p: len(s) for p, s in self.spikes.items()}
        return f"<eligo.TrainSample {self.steps} steps, label={self.label}, spikes={n}>"


class TrainResult:
    """What :func:`train` returns.

    Attributes:
        history: one dict per iteration (resumed ones included), the lines of
            ``metrics.jsonl``: ``iteration``, ``loss``, ``rate_hz`` (Hz), ``seconds`` (wall
            time), and where measured ``train_error``, ``validation_error``,
            ``validation_loss``, ``epoch``, ``rule`` (the rule's diagnostics) or ``rules``.
        metrics: the same as NumPy arrays: key -> float64 array, one value per iteration,
            NaN where an iteration did not measure it (diagnostics as ``rule.NAME`` or
            ``rules.RULE.NAME``).
        epochs: the lines of ``epochs.jsonl`` (a data set's run; else empty).
        ending: ``"finished"``, ``"stopped_early"`` (the validation error reached the task's
            target) or ``"stopped"`` (the callback returned False; no test then).
        iterations: iterations done in all.
        summary: what ``summary.json`` says of the run: task, rule, feedback, batch, lr,
            threads, seed, scale, optimizer, seconds_per_iteration and, unless stopped, the
            test (``test_error`` or ``test_nmse``, ``test_loss``, ``test_rate_hz``,
            ``test_sequences``; ``test_accuracy``, ``epochs`` for a data set).
        out: the run's directory (None when :func:`train` was given no ``out``: the
            temporary directory is gone).
        network: the trained network, an :class:`eligo.Network` (every population's spikes
            recorded; :func:`eligo.simulate` runs it; the trained readout biases are in
            :attr:`weights`, the network's readouts keep their description's bias).
        weights: the arrays of ``weights.npz``: ``P/indptr``, ``P/indices``, ``P/data``
            (float32) per projection (CSR by presynaptic neuron, so
            ``scipy.sparse.csr_matrix((data, indices, indptr))`` is ``n_pre x n_post``) and
            ``R/bias`` per readout.
        overridden: the settings ``resume_override`` let differ from the checkpoint's.
    """

    __slots__ = (
        "history",
        "metrics",
        "epochs",
        "ending",
        "iterations",
        "summary",
        "out",
        "network",
        "weights",
        "overridden",
        "_raw",
    )

    def __init__(self, raw: "_eligo.TrainRun", out: Optional[str]) -> None:
        from . import Network

        self._raw = raw
        self.history: List[Dict[str, Any]] = [json.loads(line) for line in raw.history()]
        self.metrics = _arrays(self.history)
        self.epochs: List[Dict[str, Any]] = [json.loads(line) for line in raw.epochs()]
        ending, self.iterations = raw.ending
        self.ending = "stopped" if ending == "interrupted" else ending
        self.summary: Dict[str, Any] = json.loads(raw.summary())
        self.out = out
        self.network = Network(raw.network())
        self.weights: Dict[str, np.ndarray] = raw.weights()
        self.overridden: List[str] = raw.overridden

    def sample(self, index: int = 0, split: str = "test") -> TrainSample:
        """Run sample ``index`` of ``split`` (``"train"``, ``"validation"``, ``"test"``) once
        with the trained weights and record it (what ``eligo train``'s ``sample.png`` and
        ``raster.png`` show for test sample 0). Raises :class:`InputError` for a bad split."""
        return TrainSample(self._raw.sample(split, index))

    def __repr__(self) -> str:
        test = {k: v for k, v in self.summary.items() if k.startswith("test_")}
        return f"<eligo.TrainResult {self.ending} after {self.iterations} iterations {test}>"


def _flatten(d: Mapping[str, Any], prefix: str = "") -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, Mapping):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = v
    return out


def _arrays(history: List[Dict[str, Any]]) -> Dict[str, np.ndarray]:
    rows = [_flatten(h) for h in history]
    keys: Dict[str, None] = {}
    for r in rows:
        keys.update(dict.fromkeys(r))
    return {
        k: np.array([math.nan if r.get(k) is None else r[k] for r in rows], dtype=np.float64)
        for k in keys
    }


def train(
    task: Optional[str] = None,
    *,
    net: Union[None, PathLike, Any] = None,
    data: Optional[PathLike] = None,
    data_config: Optional[PathLike] = None,
    epochs: Optional[int] = None,
    clamp_events: Union[None, Mapping[str, PathLike], Sequence[Tuple[PathLike, str]]] = None,
    rule: Union[str, Sequence[str]] = "eprop",
    params: Optional[Mapping[str, Union[float, int, str]]] = None,
    feedback: Optional[str] = None,
    mode: Optional[str] = None,
    rule_config: Union[None, PathLike, Sequence[PathLike]] = None,
    plugin_dir: Union[None, PathLike, Sequence[PathLike]] = None,
    out: Optional[PathLike] = None,
    resume: Optional[PathLike] = None,
    resume_override: Optional[Sequence[str]] = None,
    iterations: Optional[int] = None,
    batch: Optional[int] = None,
    lr: Optional[float] = None,
    threads: Optional[int] = None,
    seed: int = 1,
    scale: float = 1.0,
    checkpoint_every: int = 25,
    early_stop: bool = True,
    callback: Optional[Callable[[Dict[str, Any]], Optional[bool]]] = None,
) -> TrainResult:
    """Train a network with a learning rule: ``eligo train`` from Python, the same run bit for
    bit (same ``metrics.jsonl`` values, same ``weights.npz``) for the same settings.

    Every keyword is the CLI flag of the same name (``--no-early-stop`` is
    ``early_stop=False``); see ``eligo train --help`` and ``docs/python.md``.

    Args:
        task: a built-in task: ``"evidence"`` (the default), ``"evidence-lif"``,
            ``"store-recall"``, ``"pattern"``, ``"sine-waves"``, ``"digits"``,
            ``"reward_patterns"``. Not with ``net``.
        net: train your own network instead (a TOML description file, or an
            :class:`eligo.Network` read from one) on ``data``; the run's ``seed`` replaces
            the file's.
        data, data_config: the data set and how it meets the network (``docs/data.md``).
        epochs: passes over ``data``'s training samples (default 10); ``iterations`` wins.
        clamp_events: recorded activity replayed as a population's spikes in every sequence:
            ``{population: event_file}`` or a list of ``(event_file, population)``.
        rule: a rule plugin name (``"eprop"``, ``"bptt"``, ...) or library path, or a list of
            them (each on its own projections, ``[host] plastic`` in each rule config).
        params: rule parameters, ``{NAME: VALUE}`` as ``--param NAME=VALUE`` (with several
            rules, ``"RULE.NAME"``); ``feedback``, ``mode``: e-prop's (defaults ``"random"``
            and ``"event"``, for rules that have them).
        rule_config: a rule config TOML, or one per rule.
        plugin_dir: extra plugin directories.
        out: the run's directory (``metrics.jsonl``, ``epochs.jsonl``, ``checkpoint/``,
            ``weights.npz``; no plots or ``summary.json``, which the CLI draws): created if
            missing. None: a temporary directory, removed when :func:`train` returns (so a
            run to resume later needs ``out``).
        resume: continue the run in this directory from its last checkpoint (``--resume``);
            ``resume_override``: settings that may differ from the checkpoint's.
        iterations: iterations in all (default: the task's); batch: sequences per batch;
            lr: learning rate (defaults: the task's).
        threads: worker threads (None: every core; more are capped); any count gives the
            same bits.
        seed: seed of the initial weights and the data; scale: sequence length factor
            in (0, 1] (1 = the paper's task).
        checkpoint_every: iterations between checkpoints (>= 1).
        early_stop: stop when the validation error reaches the task's target.
        callback: called after every iteration with that iteration's dict (the keys of
            ``metrics.jsonl``, see :attr:`TrainResult.history`), e.g. to plot live.
            Returning False stops the run (a checkpoint is written, no test); an exception
            in it stops the run the same way and propagates.

    The GIL is released while iterations run; Ctrl-C (SIGINT) stops the run at the end of
    the iteration under way (a few to a few hundred ms, as the iteration is long) or within
    about 0.05 s in the final test (which ``resume`` then runs), writes the checkpoint and
    raises KeyboardInterrupt, whose message names the ``resume`` directory.

    Raises :class:`InputError` for a bad argument, with the CLI's message.
    """
    if task is not None and net is not None:
        raise _input_error(
            "task", task, "give either a task or net (and data), not both", "leave task out"
        )
    if net is not None and data is None:
        raise _input_error(
            "net", net, "needs data: the data set to train it on", "add data=DATASET"
        )
    for name, v in (("data", data), ("data_config", data_config), ("epochs", epochs)):
        if v is not None and net is None:
            raise _input_error(
                name, v, "only with net (your own network)", "add net=NET.toml, or leave it out"
            )
    if net is not None and not isinstance(net, (str, os.PathLike)):
        file = getattr(net, "file", None)
        if file is None:
            raise _input_error(
                "net",
                repr(net),
                "a TOML description file, or an eligo.Network read from one",
                "pass the description's path",
            )
        net = file
    rules = [rule] if isinstance(rule, str) else list(rule)
    if isinstance(clamp_events, Mapping):
        clamps = [(os.fspath(f), str(p)) for p, f in clamp_events.items()]
    else:
        clamps = [(os.fspath(f), str(p)) for f, p in (clamp_events or [])]
    param_list = [f"{k}={_param_text(v)}" for k, v in (params or {}).items()]

    temporary = out is None and resume is None
    run_dir = os.fspath(resume if resume is not None else out) if not temporary else None
    created = False
    if temporary:
        import tempfile  # here, not at import time: it costs ~10 ms of `import eligo`

        run_dir = tempfile.mkdtemp(prefix="eligo-train-")
    elif not os.path.isdir(run_dir):
        if resume is not None:
            raise _input_error(
                "resume",
                run_dir,
                "no such directory: resume continues a run in the out directory it wrote",
                "give the out directory of the run to continue",
            )
        try:
            os.makedirs(run_dir)
        except OSError as e:
            raise _input_error(
                "out", run_dir, f"cannot create the output directory: {e}",
                "choose a writable directory",
            ) from None
        created = True

    def on_iteration(line: str) -> bool:
        if callback is None:
            return True
        return callback(json.loads(line)) is not False

    try:
        raw = _eligo.train(
            task="evidence" if task is None else task,
            net=None if net is None else os.fspath(net),
            data=None if data is None else os.fspath(data),
            data_config=None if data_config is None else os.fspath(data_config),
            epochs=epochs,
            clamp_events=clamps,
            rule=rules,
            rule_config=_paths(rule_config),
            params=param_list,
            feedback=feedback,
            mode=mode,
            plugin_dir=_paths(plugin_dir),
            out=run_dir,
            resume=resume is not None,
            resume_override=list(resume_override or []),
            iterations=iterations,
            batch=batch,
            lr=lr,
            threads=threads,
            seed=seed,
            scale=scale,
            checkpoint_every=checkpoint_every,
            early_stop=early_stop,
            on_iteration=on_iteration,
        )
    except BaseException:
        # as the CLI: a run that fails leaves no empty directory it created behind
        if created and not os.listdir(run_dir):
            os.rmdir(run_dir)
        raise
    finally:
        if temporary:
            import shutil

            shutil.rmtree(run_dir, ignore_errors=True)
    err = raw.take_error()
    if err is not None:
        if isinstance(err, KeyboardInterrupt):
            it = raw.ending[1]
            where = (
                "no checkpoint kept (no out directory was given)"
                if temporary
                else f"checkpoint of iteration {it} written to "
                f"{os.path.join(run_dir, 'checkpoint')}; continue with resume={run_dir!r}"
            )
            raise KeyboardInterrupt(where) from None
        raise err
    for o in raw.overridden:
        warnings.warn(f"resume_override: continuing with another {o}", stacklevel=2)
    return TrainResult(raw, None if temporary else run_dir)
