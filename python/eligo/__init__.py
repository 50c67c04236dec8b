"""Eligo from Python: read a network description, simulate it, get the spikes as NumPy arrays.

The same engine as the ``eligo`` command line tool, with the same results bit for bit::

    import eligo
    net = eligo.Network.from_toml("data/example_net.toml")
    res = eligo.simulate(net, duration_ms=200.0)
    print(res.rates_hz)
    print(res.spikes["exc"]["t"][:5])   # µs

For closed loops, :class:`Simulation` advances a network step by step (inject spikes and
currents, set modulators, read readouts and spikes between steps)::

    sim = eligo.Simulation(net)
    sim.step()
    print(sim.spikes("exc"))

Bad input raises :class:`InputError` (a ``ValueError``) with the message the CLI prints.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Mapping, NamedTuple, Optional, Tuple, Union

import numpy as np

from . import _eligo
from ._eligo import InputError
from ._errors import input_error
from . import simulation as _simulation
from .simulation import Events, Simulation
from .training import TrainResult, TrainSample, train
from .agent import AgentResult, train_agent
from ._gradients import grad
from ._plugins import plugins
from . import events
from . import envs
from . import nir

__all__ = [
    "CSR", "InputError", "Network", "SPIKE_DTYPE", "Simulation", "SimulationResult", "simulate",
    "TrainResult", "TrainSample", "train", "AgentResult", "train_agent", "events", "grad",
    "plugins", "envs", "nir",
]
__version__ = _eligo.__version__

#: The records of ``spikes_<population>.npy`` (what ``eligo simulate`` writes): packed,
#: ``t`` the time in µs, ``addr`` the neuron's index in its population.
SPIKE_DTYPE = np.dtype([("t", "<u8"), ("addr", "<u4")])


class CSR(NamedTuple):
    """A projection's weights in compressed sparse rows, the engine's own layout: row ``i`` is
    presynaptic neuron ``i``, ``indices`` its targets (ascending), ``data`` the weights.

    ``scipy.sparse.csr_matrix((data, indices, indptr), shape=shape)`` is the ``n_pre x n_post``
    matrix (:meth:`to_scipy`). The arrays returned by :meth:`Network.csr` are read-only views of
    the network's memory: they follow :meth:`Network.set_weights`.
    """

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    shape: Tuple[int, int]

    def to_scipy(self):
        """The ``n_pre x n_post`` ``scipy.sparse.csr_matrix`` (copies the arrays; needs SciPy)."""
        from scipy.sparse import csr_matrix

        return csr_matrix((self.data.copy(), self.indices.copy(), self.indptr.copy()), shape=self.shape)


def _dict_to_json(d: Mapping[str, Any]) -> str:
    """``d`` as JSON, refusing what a TOML description cannot hold (None, non-str keys), with
    the path of the offending entry."""

    def walk(v: Any, at: str) -> Any:
        if v is None:
            raise input_error(
                at or "(dict)",
                "None",
                "a network description holds numbers, strings, booleans, lists and dicts",
                "leave the key out to take its default",
            )
        if isinstance(v, Mapping):
            out = {}
            for k, x in v.items():
                if not isinstance(k, str):
                    raise input_error(at or "(dict)", repr(k), "keys must be str", "")
                out[k] = walk(x, f"{at}.{k}" if at else k)
            return out
        if isinstance(v, np.ndarray):
            v = v.tolist()
        if isinstance(v, (list, tuple)):
            return [walk(x, f"{at}[{i}]") for i, x in enumerate(v)]
        if isinstance(v, np.generic):
            return v.item()
        if isinstance(v, (bool, int, float, str)):
            return v
        raise input_error(
            at or "(dict)",
            repr(v),
            f"a {type(v).__name__} cannot be part of a network description",
            "use numbers, strings, booleans, lists and dicts",
        )

    return json.dumps(walk(d, ""))


def _is_toml_text(s: str) -> bool:
    # a description has at least one `key = value`; a path has neither `=` nor a newline
    return "\n" in s or "=" in s


class Network:
    """A network description (the TOML of ``eligo simulate``), read and drawn.

    Drawing fixes every random connection and initial value from the description's seed, so
    the same description gives the same network, and :func:`simulate` the same spikes.
    Build one with :meth:`Network.from_toml`.
    """

    __slots__ = ("_net",)

    def __init__(self, _net: "_eligo.Network") -> None:
        self._net = _net

    @classmethod
    def from_toml(cls, path_or_text: Union[str, "os.PathLike[str]"]) -> "Network":
        """Read a description from a file or from TOML text.

        A :class:`os.PathLike` or a string with neither ``=`` nor a newline is a path; any
        other string is the TOML itself. Raises :class:`InputError` for a missing file, bad
        TOML or a bad field (the message names the file, the field, the value, what is
        allowed and what to try). Descriptions with ``[[rule]]`` tables are not supported yet.
        """
        if isinstance(path_or_text, str) and _is_toml_text(path_or_text):
            return cls(_eligo.Network.from_text(path_or_text))
        return cls(_eligo.Network.from_file(os.fspath(path_or_text)))

    @classmethod
    def from_dict(cls, description: Mapping[str, Any]) -> "Network":
        """Build a description from plain Python data: the TOML's tables as dicts and its arrays
        of tables (``population``, ``projection``, ``recorder``) as lists of dicts, e.g.::

            eligo.Network.from_dict({
                "dt_ms": 0.1, "duration_ms": 100.0, "seed": 1,
                "population": [
                    {"name": "in", "model": "poisson", "size": 100, "rate_hz": 20.0},
                    {"name": "exc", "model": "lif", "size": 50},
                ],
                "projection": [{"from": "in", "to": "exc", "rule": "fixed_indegree",
                                "k": 10, "weight": 0.5, "delay_ms": 1.0}],
            })

        The same fields, defaults and checks as the TOML: a bad field raises
        :class:`InputError` naming it (``population[1].tau_m_ms``). NumPy scalars and arrays
        are accepted as numbers and lists.
        """
        if not isinstance(description, Mapping):
            raise TypeError(f"description must be a dict, not {type(description).__name__}")
        return cls(_eligo.Network.from_json(_dict_to_json(description)))

    def weights(self, projection: str) -> np.ndarray:
        """The weights of ``projection`` as a dense float32 ``W[post, pre]`` matrix (a new array;
        zeros where there is no synapse). Refused (InputError) above half the memory limit:
        use :meth:`csr` for big projections."""
        return self._net.dense(projection)

    def csr(self, projection: str) -> CSR:
        """The weights of ``projection`` in the engine's CSR layout (rows presynaptic): read-only
        NumPy views of the network's memory, no copy. ``net.csr(p).to_scipy()`` gives a
        ``scipy.sparse.csr_matrix``."""
        indptr, indices, data = self._net.csr(projection)
        for a in (indptr, indices, data):
            a.setflags(write=False)
        return CSR(data, indices, indptr, self._net.shape(projection))

    def set_weights(self, projection: str, w: Any) -> None:
        """Set the weights of ``projection`` at its synapses (the connectivity is fixed when the
        network is drawn). ``w`` is one of:

        - a dense ``W[post, pre]`` array (zero wherever the network has no synapse);
        - a ``scipy.sparse`` matrix or a :class:`CSR` of shape ``n_pre x n_post`` with the
          network's connectivity (``net.csr(p)`` with other ``data``);
        - a 1-D array of one weight per synapse, in the order of ``net.csr(p).data``.

        Values are stored as float32; every weight must be finite. Raises :class:`InputError`
        naming the entry that does not fit.
        """
        if hasattr(w, "tocsr") and not isinstance(w, np.ndarray):
            m = w.tocsr()
            m.sort_indices()
            w = CSR(m.data, m.indices, m.indptr, tuple(m.shape))
        if isinstance(w, CSR):
            own = self.csr(projection)
            field = f"weights[{projection!r}]"
            if tuple(w.shape) != tuple(own.shape):
                raise input_error(
                    field,
                    f"shape {tuple(w.shape)}",
                    f"a sparse weight matrix must be n_pre x n_post = {tuple(own.shape)} "
                    "(rows presynaptic)",
                    "Network.csr(name) gives the layout",
                )
            if not (np.array_equal(w.indptr, own.indptr) and np.array_equal(w.indices, own.indices)):
                raise input_error(
                    field,
                    "another sparsity structure",
                    "only the weights of the network's synapses can be set: indptr and "
                    "indices must equal the network's",
                    "change Network.csr(name).data (or .to_scipy().data), or pass a dense matrix",
                )
            w = w.data
        a = np.asarray(w)
        if a.ndim == 1:
            self._net.set_data(projection, np.ascontiguousarray(a, dtype=np.float32))
        elif a.ndim == 2:
            self._net.set_dense(projection, np.ascontiguousarray(a, dtype=np.float64))
        else:
            raise input_error(
                f"weights[{projection!r}]",
                f"an array of {a.ndim} dimensions",
                "must be a dense W[post, pre] matrix, a scipy.sparse matrix, a CSR or one "
                "weight per synapse",
            )

    @property
    def dt_ms(self) -> float:
        """Time step (ms)."""
        return self._net.dt_ms

    @property
    def duration_ms(self) -> float:
        """The description's ``duration_ms`` (a whole number of steps)."""
        return self._net.duration_ms

    @property
    def steps(self) -> int:
        """Steps of :attr:`duration_ms`."""
        return self._net.steps

    @property
    def seed(self) -> int:
        """Seed of every random draw."""
        return self._net.seed

    @property
    def file(self) -> Optional[str]:
        """The file the description came from (None for text)."""
        return self._net.file

    @property
    def populations(self) -> Dict[str, Dict[str, object]]:
        """Populations in global-id order: name -> ``{"size", "model", "start"}``."""
        return {
            name: {"size": size, "model": model, "start": start}
            for name, size, model, start in self._net.populations
        }

    @property
    def projections(self) -> Dict[str, Dict[str, object]]:
        """Projections: name -> ``{"from", "to", "synapses"}`` (synapses as drawn)."""
        return {
            name: {"from": pre, "to": post, "synapses": n}
            for name, pre, post, n in self._net.projections
        }

    @property
    def rules(self) -> Tuple[str, ...]:
        """The plugins of the description's ``[[rule]]`` tables, in file order: attached by
        :func:`simulate` and by :class:`Simulation` when it is given no ``rules``."""
        return tuple(self._net.rules)

    @property
    def recorded(self) -> Tuple[str, ...]:
        """Populations whose spikes are recorded (the ``[[recorder]] kind = "spikes"``)."""
        return tuple(self._net.recorded)

    def __repr__(self) -> str:
        pops = ", ".join(f"{n}[{p['size']}]" for n, p in self.populations.items())
        return f"<eligo.Network {pops}; {len(self._net.projections)} projections>"


class SimulationResult:
    """What :func:`simulate` returns.

    Attributes:
        spikes: recorded population -> structured array of :data:`SPIKE_DTYPE` (``t`` µs,
            ``addr``), sorted by time, then address: the contents of ``spikes_<pop>.npy``.
        state: ``(population, variable)`` -> float32 array ``steps x neurons`` (the
            ``[[recorder]] kind = "state"``; ``state_<pop>_<var>.npy``).
        counters: ``steps``, ``events`` (synaptic events delivered) and ``spikes``
            (population -> count, recorded or not).
        rates_hz: mean rate of every spiking population (Hz).
        threads: worker threads used.
        wall_s: wall time of the run (s).
        weights: for a description with ``[[rule]]`` tables, projection -> its weights after
            the run (float32, CSR order: ``weights.npz``'s ``P/data``); else None.
    """

    __slots__ = ("spikes", "state", "counters", "rates_hz", "threads", "wall_s", "weights")

    def __init__(self, raw: dict) -> None:
        # the engine hands over packed bytes it no longer owns: a view, not a copy
        self.spikes = {p: b.view(SPIKE_DTYPE) for p, b in raw["spikes"].items()}
        self.state = raw["state"]
        self.counters = raw["counters"]
        self.rates_hz = raw["rates_hz"]
        self.threads = raw["threads"]
        self.wall_s = raw["wall_s"]
        self.weights = None

    def __repr__(self) -> str:
        return f"<eligo.SimulationResult {self.counters['steps']} steps, rates_hz={self.rates_hz}>"


def simulate(
    net: Network,
    duration_ms: Optional[float] = None,
    threads: Optional[int] = None,
    *,
    inputs: Optional[Mapping[str, "Events"]] = None,
    record: Any = None,
) -> SimulationResult:
    """Simulate ``net`` for ``duration_ms`` (None: the description's) on ``threads`` worker
    threads (None: every core; more than the cores are capped; any count gives the same bits).

    The run is ``eligo simulate``'s: the same spikes bit for bit. The GIL is released while
    the engine runs; Ctrl-C (KeyboardInterrupt) stops it within about 25 ms. Recorded spikes
    and state traces are held in memory (12 bytes a spike, 4 a sample).

    ``inputs``: population name -> events replayed *as* that population's spikes, as
    ``eligo simulate --clamp-events FILE --population NAME`` (or ``--input-events`` for a
    source) replays a file: a structured array with fields ``t`` (µs, integers) and ``addr``
    (neuron index), e.g. of :data:`SPIKE_DTYPE` (the tonic-style layout); a dict
    ``{"t": .., "addr": ..}``; or a tuple ``(t, addr)``. An event lands in step ``t // dt_us``; several of one neuron in
    one step are one spike; events after the run are ignored. Times must not go backwards,
    addresses must be below the population's size. The population's own dynamics are bypassed.

    A description with ``[[rule]]`` tables runs with its learning rules, as ``eligo
    simulate`` runs it (the rules' sequence is the whole run): the result's ``weights`` hold
    the weights after it (the network itself keeps its own).

    ``record``: None (the description's ``[[recorder]]`` tables), a list of population
    names (their spikes, no state), or a dict with ``"spikes"`` (names) and ``"state"`` (a
    list of ``(population, variable)``, ``(population, variable, neurons)`` or dicts with the
    ``[[recorder]]`` keys ``population``, ``variable``, ``neurons``); a missing key records
    nothing of its kind.

    Raises :class:`InputError` for a bad ``duration_ms``, ``threads``, ``inputs`` or
    ``record`` (the field names the argument, e.g. ``inputs['input'].t[3]``).
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be an eligo.Network, not {type(net).__name__}")
    if net.rules:
        # the description's learning rules: one sequence of the whole run, as `eligo simulate`
        sim = Simulation(net, threads=threads, record=record, inputs=inputs,
                         duration_ms=duration_ms)
        sim.step(sim._sim.sequence_steps)
        sim.finish()
        res = sim.result()
        res.weights = {p: sim.weights(p) for p in net.projections}
        return res
    raw = _eligo.simulate(net._net, duration_ms, threads, record, _simulation._inputs(inputs))
    return SimulationResult(raw)
