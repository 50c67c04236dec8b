"""Step-wise simulation (:class:`Simulation`) and the arguments it shares with
:func:`eligo.simulate`: ``inputs=`` (spikes replayed as a population's own) and ``record=``
(which spikes and state traces to keep)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _eligo

if TYPE_CHECKING:  # pragma: no cover
    from . import Network, SimulationResult

#: Events of one population for ``inputs=``: a structured array with fields ``t`` (µs, an
#: unsigned or non-negative integer) and ``addr`` (the neuron's index), e.g. of
#: :data:`eligo.SPIKE_DTYPE`; or a dict ``{"t": ..., "addr": ...}``; or a tuple ``(t, addr)``.
Events = Union[np.ndarray, Mapping[str, Any], Tuple[Any, Any]]

#: Rules for ``rules=``: a plugin name (``"stdp"``), or a list of names and
#: ``(name, {param: value})`` pairs (parameters as ``eligo simulate --param NAME=VALUE``).
Rules = Union[None, str, Sequence[Union[str, Tuple[str, Mapping[str, Any]]]]]

_U32_MAX = np.iinfo(np.uint32).max


def _error(field: str, value: Any, allowed: str, hint: str = "") -> Exception:
    return _eligo.input_error(field, str(value), allowed, hint)


def _integers(field: str, a: Any, limit: Optional[int], what: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 1:
        raise _error(field, f"an array of shape {a.shape}", f"a 1-D array of {what}")
    if a.dtype.kind not in "ui":
        raise _error(
            field,
            f"dtype {a.dtype}",
            f"{what} as integers",
            "convert, e.g. np.round(t_ms * 1000).astype(np.uint64) for times in ms",
        )
    if a.size and a.dtype.kind == "i" and a.min() < 0:
        i = int(np.argmax(a < 0))
        raise _error(f"{field}[{i}]", int(a[i]), f"{what} must be >= 0")
    if limit is not None and a.size and a.max() > limit:
        i = int(np.argmax(a > limit))
        raise _error(f"{field}[{i}]", int(a[i]), f"{what} must be at most {limit}")
    return a


def _inputs(inputs: Optional[Mapping[str, Events]]) -> List[Tuple[str, np.ndarray, np.ndarray]]:
    """``inputs=`` as the compiled module takes it: (population, t uint64, addr uint32)."""
    if inputs is None:
        return []
    if not isinstance(inputs, Mapping):
        raise _error(
            "inputs",
            type(inputs).__name__,
            "a dict: population name -> events (a structured array with fields t and addr)",
        )
    out = []
    for pop, ev in inputs.items():
        field = f"inputs['{pop}']"
        if isinstance(ev, np.ndarray) and ev.dtype.names is not None:
            missing = [f for f in ("t", "addr") if f not in ev.dtype.names]
            if missing:
                raise _error(
                    field,
                    f"fields {', '.join(ev.dtype.names)}",
                    "a structured array with fields t (µs) and addr (neuron index)",
                    "eligo.SPIKE_DTYPE is such a layout",
                )
            t, addr = ev["t"], ev["addr"]
        elif isinstance(ev, Mapping):
            if "t" not in ev or "addr" not in ev:
                raise _error(field, f"keys {', '.join(map(str, ev))}", "a dict with keys t and addr")
            t, addr = ev["t"], ev["addr"]
        elif isinstance(ev, (tuple, list)) and len(ev) == 2:
            t, addr = ev
        else:
            raise _error(
                field,
                type(ev).__name__,
                "a structured array with fields t and addr, a dict {'t': .., 'addr': ..} or a "
                "tuple (t, addr)",
            )
        t = _integers(f"{field}.t", t, None, "times (µs)")
        addr = _integers(f"{field}.addr", addr, _U32_MAX, "addresses")
        out.append(
            (
                str(pop),
                np.ascontiguousarray(t, dtype=np.uint64),
                np.ascontiguousarray(addr, dtype=np.uint32),
            )
        )
    return out


def _param_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _rules(rules: Rules) -> List[Tuple[str, List[str]]]:
    """``rules=`` as the compiled module takes it: (name, ["NAME=VALUE", ...]) per rule."""
    if rules is None:
        return []
    if isinstance(rules, str) or (
        isinstance(rules, tuple) and len(rules) == 2 and isinstance(rules[1], Mapping)
    ):
        rules = [rules]
    out = []
    for i, r in enumerate(rules):
        if isinstance(r, str):
            out.append((r, []))
        elif isinstance(r, (tuple, list)) and len(r) == 2 and isinstance(r[1], Mapping):
            out.append((str(r[0]), [f"{k}={_param_value(v)}" for k, v in r[1].items()]))
        else:
            raise _error(
                f"rules[{i}]",
                repr(r),
                "a rule name or a (name, {parameter: value}) pair",
                "e.g. rules=[('rstdp', {'eta': 0.01})]; eligo plugins lists the rules",
            )
    return out


class Simulation:
    """A network simulated step by step, for closed loops with Python (an environment, a
    controller).

    ``Simulation(net, rules=None, threads=1, record=None, inputs=None, modulators=(),
    plugin_dir=(), duration_ms=None, rule_config=())``:

    - ``rules``: learning rules attached as ``eligo simulate --rule`` attaches them: a plugin
      name, or a list of names and ``(name, {param: value})`` pairs. Their weight changes apply
      as the network runs (direct rules such as ``stdp``, ``rstdp``); a gradient rule's
      optimizer step happens at :meth:`finish`. ``plugin_dir``: directories searched first
      for the plugins (then ``$ELIGO_PLUGIN_PATH``, then the built-in rules linked in). ``rule_config``: one rule config (TOML,
      as ``--rule-config``: parameters, ``[host] plastic`` projections, optimizer) per rule,
      or none; ``{param: value}`` pairs win over it.
    - ``threads``: worker threads (1 is fastest for small networks; results are the same for
      any count). A call with several threads restarts them (tens of µs).
    - ``record``: as :func:`eligo.simulate` (None: the description's recorders).
    - ``inputs``: as :func:`eligo.simulate`: events replayed as those populations' spikes.
    - ``modulators``: names of modulator channels (e.g. ``["reward"]``) the rules read; set
      them with :meth:`set_modulator`.
    - ``duration_ms``: the length of the rules' sequence (None: the description's
      ``duration_ms``); the simulation itself may run any number of steps.

    The network is copied: ``net`` stays as drawn. Per call, :meth:`step` costs about a
    microsecond beyond the simulated work (see bench/README.md). Raises
    :class:`eligo.InputError` for bad arguments, with the CLI's messages.
    """

    __slots__ = ("_sim",)

    def __init__(
        self,
        net: "Network",
        rules: Rules = None,
        threads: Optional[int] = 1,
        record: Any = None,
        inputs: Optional[Mapping[str, Events]] = None,
        modulators: Sequence[str] = (),
        plugin_dir: Sequence[Union[str, "os.PathLike[str]"]] = (),
        duration_ms: Optional[float] = None,
        rule_config: Sequence[Union[str, "os.PathLike[str]"]] = (),
    ) -> None:
        from . import Network

        if not isinstance(net, Network):
            raise TypeError(f"net must be an eligo.Network, not {type(net).__name__}")
        # one name or path for a list of one
        if isinstance(modulators, str):
            modulators = [modulators]
        if isinstance(plugin_dir, (str, os.PathLike)):
            plugin_dir = [plugin_dir]
        if isinstance(rule_config, (str, os.PathLike)):
            rule_config = [rule_config]
        self._sim = _eligo.Simulation(
            net._net,
            _rules(rules),
            threads,
            record,
            _inputs(inputs),
            list(modulators),
            [os.fspath(d) for d in plugin_dir],
            duration_ms,
            [os.fspath(c) for c in rule_config],
        )

    def step(self, n: int = 1) -> None:
        """Simulate ``n`` steps (GIL released; Ctrl-C stops a long call within about 25 ms
        with KeyboardInterrupt, at a step boundary)."""
        self._sim.step(n)

    def run(self, ms: float) -> None:
        """Simulate ``ms`` milliseconds (a whole number of steps), as :meth:`step`."""
        self._sim.run(ms)

    @property
    def steps(self) -> int:
        """Steps simulated so far."""
        return self._sim.steps

    @property
    def t_ms(self) -> float:
        """Simulated time so far (ms): ``steps * dt_ms``."""
        return self._sim.t_ms

    @property
    def dt_ms(self) -> float:
        """Time step (ms)."""
        return self._sim.dt_ms

    @property
    def threads(self) -> int:
        """Worker threads used (``threads=`` capped at the machine's cores)."""
        return self._sim.threads

    @property
    def modulators(self) -> Tuple[str, ...]:
        """The modulator channels' names."""
        return tuple(self._sim.modulators)

    def inject(self, pop: str, addrs: Any) -> None:
        """Make neurons ``addrs`` (indices) of population ``pop`` spike in the next step.

        From then on the population is clamped (as ``eligo simulate --clamp-events``): its
        own dynamics (a Poisson source's draws, a neuron's membrane) are bypassed and it emits
        only the spikes injected for each step (none if nothing is injected), replacing any
        ``inputs=`` replay of it. Several calls before a step add up.
        """
        if type(addrs) is not np.ndarray:
            addrs = np.asarray(addrs, dtype=np.uint32).reshape(-1)
        try:
            # a contiguous uint32 array goes straight through (the per-step fast path)
            self._sim.inject(pop, addrs)
        except TypeError:
            self._sim.inject(pop, np.ascontiguousarray(addrs, dtype=np.uint32).reshape(-1))

    def inject_current(self, pop: str, values: Any, receptor: str = "exc") -> None:
        """Add ``values`` (one per neuron of ``pop``, or one for all) to the input of the next
        step, on the ``receptor`` channel (``"exc"`` or ``"inh"``, as a projection's
        ``receptor``).

        It is exactly a synaptic input of that size arriving in the next step, in the units
        of the weights onto ``pop``: for ``lif``/``alif`` it adds to ``v`` (a.u.: ``v(t) =
        alpha v(t-1) + I(t) - ...``), for ``lif_exp`` to the synaptic current ``I_ex`` (or
        ``I_in``, mV), for a ``readout`` to its filtered input. Several calls before a step
        add up. Sources (no inputs) raise :class:`eligo.InputError`.
        """
        if type(values) is not np.ndarray:
            values = np.asarray(values, dtype=np.float32).reshape(-1)
        try:
            # a contiguous float32 array goes straight through (the per-step fast path)
            self._sim.inject_current(pop, values, receptor)
        except TypeError:
            v = np.ascontiguousarray(values, dtype=np.float32).reshape(-1)
            self._sim.inject_current(pop, v, receptor)

    def set_modulator(self, name: str, value: float) -> None:
        """Set modulator channel ``name`` (one of ``modulators=``) to ``value`` from the next
        step on; it holds until set again. The rules read it each step (e.g. ``rstdp``'s
        reward)."""
        self._sim.set_modulator(name, value)

    def readout(self, pop: str) -> np.ndarray:
        """The outputs ``y`` of readout population ``pop`` after the last step (float32)."""
        return self._sim.readout(pop)

    def spikes(self, pop: str) -> np.ndarray:
        """Indices (ascending, uint32) of the neurons of ``pop`` that spiked in the last step."""
        return self._sim.spikes(pop)

    def state(self, pop: str, var: str) -> np.ndarray:
        """The current value of state variable ``var`` (e.g. ``"v"``) of every neuron of
        ``pop`` (float32)."""
        return self._sim.state(pop, var)

    def weights(self, projection: str) -> np.ndarray:
        """The current weights of ``projection`` (float32, a copy), in the order of
        ``weights.npz``'s ``P/data`` (CSR by presynaptic neuron)."""
        return self._sim.weights(projection)

    def result(self) -> "SimulationResult":
        """What was recorded so far, as :func:`eligo.simulate` returns it (copies)."""
        from . import SimulationResult

        return SimulationResult(self._sim.result())

    def finish(self) -> None:
        """End the rules' sequence as ``eligo simulate`` ends its run (a gradient rule's
        optimizer applies its gradients). No step may follow."""
        self._sim.finish()

    def __repr__(self) -> str:
        return f"<eligo.Simulation t_ms={self.t_ms} steps={self.steps}>"
