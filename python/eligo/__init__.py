"""Eligo from Python: read a network description, simulate it, get the spikes as NumPy arrays.

The same engine as the ``eligo`` command line tool, with the same results bit for bit::

    import eligo
    net = eligo.Network.from_toml("data/example_net.toml")
    res = eligo.simulate(net, duration_ms=200.0)
    print(res.rates_hz)
    print(res.spikes["exc"]["t"][:5])   # µs

Bad input raises :class:`InputError` (a ``ValueError``) with the message the CLI prints.
"""

from __future__ import annotations

import os
from typing import Dict, Optional, Tuple, Union

import numpy as np

from . import _eligo
from ._eligo import InputError
from ._gradients import grad
from ._plugins import plugins
from . import events

__all__ = ["InputError", "Network", "SPIKE_DTYPE", "SimulationResult", "simulate"]
__all__ += ["events", "grad", "plugins"]
__version__ = _eligo.__version__

#: The records of ``spikes_<population>.npy`` (what ``eligo simulate`` writes): packed,
#: ``t`` the time in µs, ``addr`` the neuron's index in its population.
SPIKE_DTYPE = np.dtype([("t", "<u8"), ("addr", "<u4")])


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
    """

    __slots__ = ("spikes", "state", "counters", "rates_hz", "threads", "wall_s")

    def __init__(self, raw: dict) -> None:
        # the engine hands over packed bytes it no longer owns: a view, not a copy
        self.spikes = {p: b.view(SPIKE_DTYPE) for p, b in raw["spikes"].items()}
        self.state = raw["state"]
        self.counters = raw["counters"]
        self.rates_hz = raw["rates_hz"]
        self.threads = raw["threads"]
        self.wall_s = raw["wall_s"]

    def __repr__(self) -> str:
        return f"<eligo.SimulationResult {self.counters['steps']} steps, rates_hz={self.rates_hz}>"


def simulate(
    net: Network, duration_ms: Optional[float] = None, threads: Optional[int] = None
) -> SimulationResult:
    """Simulate ``net`` for ``duration_ms`` (None: the description's) on ``threads`` worker
    threads (None: every core; more than the cores are capped; any count gives the same bits).

    The run is ``eligo simulate``'s: the same spikes bit for bit. The GIL is released while
    the engine runs; Ctrl-C (KeyboardInterrupt) stops it within about 0.1 s. Recorded spikes
    and state traces are held in memory (12 bytes a spike, 4 a sample). Raises
    :class:`InputError` for a bad ``duration_ms`` or ``threads``.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be an eligo.Network, not {type(net).__name__}")
    return SimulationResult(_eligo.simulate(net._net, duration_ms, threads))
