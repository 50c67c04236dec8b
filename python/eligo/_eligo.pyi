"""Type stub of the compiled module `eligo._eligo` (use the wrappers in `eligo`)."""

from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

__version__: str

class InputError(ValueError):
    """Bad input; the message names the file, field, value, what is allowed and what to try."""

    file: Optional[str]
    field: str
    value: str
    allowed: str
    hint: str

class Network:
    @staticmethod
    def from_file(path: str) -> Network: ...
    @staticmethod
    def from_text(text: str) -> Network: ...
    @staticmethod
    def from_json(text: str) -> Network:
        """A description as JSON text (what eligo.Network.from_dict makes of a dict)."""
    def csr(self, name: str) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(indptr, indices, data): views of the network's own arrays (rows presynaptic)."""
    def shape(self, name: str) -> Tuple[int, int]:
        """(n_pre, n_post) of a projection."""
    def dense(self, name: str) -> np.ndarray:
        """float32 W[post, pre] (a copy)."""
    def set_data(self, name: str, data: np.ndarray) -> None:
        """One float32 weight per synapse, CSR order."""
    def set_dense(self, name: str, w: np.ndarray) -> None:
        """float64 W[post, pre]; zero where there is no synapse."""
    @property
    def dt_ms(self) -> float: ...
    @property
    def duration_ms(self) -> float: ...
    @property
    def steps(self) -> int: ...
    @property
    def seed(self) -> int: ...
    @property
    def file(self) -> Optional[str]: ...
    @property
    def populations(self) -> List[Tuple[str, int, str, int]]:
        """(name, size, model, first global id) in global-id order."""
    @property
    def projections(self) -> List[Tuple[str, str, str, int]]:
        """(name, from, to, synapses)."""
    @property
    def recorded(self) -> List[str]: ...

def simulate(
    net: Network,
    duration_ms: Optional[float] = None,
    threads: Optional[int] = None,
    record: Any = None,
    inputs: List[Tuple[str, Any, Any]] = ...,
) -> Dict[str, Any]:
    """The raw result: spikes as packed uint8 records, state, counters, rates_hz, threads, wall_s."""

def input_error(field: str, value: str, allowed: str, hint: str) -> InputError:
    """An InputError with the engine's message layout (for the Python half's checks)."""

class Simulation:
    """The compiled half of `eligo.Simulation`; `inputs` as (population, t uint64, addr
    uint32), `rules` as (name, ["NAME=VALUE", ...])."""

    def __init__(
        self,
        net: Network,
        rules: List[Tuple[str, List[str]]] = ...,
        threads: Optional[int] = 1,
        record: Any = None,
        inputs: List[Tuple[str, Any, Any]] = ...,
        modulators: List[str] = ...,
        plugin_dir: List[str] = ...,
        duration_ms: Optional[float] = None,
        rule_config: List[str] = ...,
    ) -> None: ...
    def step(self, n: int = 1) -> None: ...
    def run(self, ms: float) -> None: ...
    @property
    def steps(self) -> int: ...
    @property
    def t_ms(self) -> float: ...
    @property
    def dt_ms(self) -> float: ...
    @property
    def threads(self) -> int: ...
    @property
    def modulators(self) -> List[str]: ...
    @property
    def sequence_steps(self) -> int: ...
    @property
    def file(self) -> Optional[str]: ...
    def inject(self, pop: str, addrs: Any) -> None:
        """addrs: contiguous uint32."""
    def inject_current(self, pop: str, values: Any, receptor: str = "exc") -> None:
        """values: contiguous float32, one per neuron or one for all."""
    def set_modulator(self, name: str, value: float) -> None: ...
    def state(self, pop: str, var: str) -> Any: ...
    def readout(self, pop: str) -> Any: ...
    def spikes(self, pop: str) -> Any: ...
    def weights(self, projection: str) -> Any: ...
    def result(self) -> Dict[str, Any]: ...
    def finish(self) -> None: ...
class TrainRun:
    """A finished or stopped training run (use `eligo.train`, which wraps it)."""

    def take_error(self) -> Optional[BaseException]: ...
    @property
    def ending(self) -> Tuple[str, int]:
        """("finished" | "stopped_early" | "interrupted", the iteration it ended at)."""
    @property
    def overridden(self) -> List[str]: ...
    def summary(self) -> str:
        """JSON text of summary.json's keys that the run decides."""
    def history(self) -> List[str]:
        """The metrics.jsonl lines."""
    def epochs(self) -> List[str]:
        """The epochs.jsonl lines (a data set's run)."""
    def network(self) -> Network: ...
    def weights(self) -> Dict[str, Any]:
        """The arrays of weights.npz."""
    def sample(self, split: str, index: int) -> Dict[str, Any]:
        """spikes (packed uint8 records), y, targets, label, steps, dt_ms."""

def train(
    *,
    task: str,
    net: Optional[str],
    data: Optional[str],
    data_config: Optional[str],
    epochs: Optional[int],
    clamp_events: List[Tuple[str, str]],
    rule: List[str],
    rule_config: List[str],
    params: List[str],
    feedback: Optional[str],
    mode: Optional[str],
    plugin_dir: List[str],
    out: str,
    resume: bool,
    resume_override: List[str],
    iterations: Optional[int],
    batch: Optional[int],
    lr: Optional[float],
    threads: Optional[int],
    seed: int,
    scale: float,
    checkpoint_every: int,
    early_stop: bool,
    on_iteration: Callable[[str], bool],
) -> TrainRun:
    """`eligo train` into the existing directory `out`; on_iteration gets each metrics line."""
class AgentTrainRun:
    """A finished or stopped closed-loop run (use `eligo.train_agent`, which wraps it)."""

    def take_error(self) -> Optional[BaseException]: ...
    @property
    def ending(self) -> Tuple[str, int]:
        """("finished" | "reached" | "interrupted", the iteration, or for "reached" the episode)."""
    @property
    def iterations(self) -> int: ...
    @property
    def overridden(self) -> List[str]: ...
    def summary(self) -> str: ...
    def history(self) -> List[str]: ...
    def returns(self) -> Any:
        """float64, every episode's return."""
    def weights(self) -> Dict[str, Any]: ...

def train_agent(
    *,
    builtin: Optional[str],
    gym: Optional[Dict[str, Any]],
    scale: float,
    rule: str,
    rule_config: Optional[str],
    params: List[str],
    feedback: Optional[str],
    mode: Optional[str],
    form: Optional[str],
    gamma: Optional[float],
    plugin_dir: List[str],
    out: str,
    resume: bool,
    resume_override: List[str],
    iterations: int,
    batch: Optional[int],
    lr: Optional[float],
    threads: Optional[int],
    seed: int,
    agent_steps: Optional[int],
    max_agent_steps: Optional[int],
    checkpoint_every: int,
    target_return: Optional[float],
    on_iteration: Callable[[str], bool],
) -> AgentTrainRun:
    """`eligo train --reward` on `builtin` or on `gym`'s environments (factory, flatten, name,
    ranges, encoding, neurons, rate_hz, actions, start, hidden) into the existing `out`."""
def episode_seed(seed: int, episode: int) -> int: ...
def grad(
    net: Network,
    inputs: List[Tuple[Any, Any]],
    batch: bool,
    targets: List[Optional[Tuple[List[int], Any]]],
    classes: List[Optional[int]],
    window_ms: Optional[str] = None,
    rule: List[str] = ...,
    rule_config: List[str] = ...,
    plugin_dir: List[str] = ...,
    param: List[str] = ...,
    modulator: List[Tuple[str, List[int], Any]] = ...,
    weights: Optional[bytes] = None,
    feedback_matrix: Optional[str] = None,
    input_population: Optional[str] = None,
    threads: Optional[int] = None,
) -> Tuple[Dict[str, Any], float]:
    """(arrays of `eligo grad`'s .npz by name, loss); inputs as (t uint64, addr uint32) pairs."""

def plugins(plugin_dir: List[str] = ...) -> List[Dict[str, Any]]:
    """One dict per candidate plugin library (see eligo.plugins)."""

def events_read(path: str, opts: Dict[str, Any], mapped: bool) -> Tuple[Any, str]:
    """(packed uint8 records, layout "1d" | "1d_p" | "2d"); see eligo.events.read."""

def events_write(
    path: str, t: Any, addr: Any, p: Optional[Any] = None, to: Optional[str] = None
) -> int: ...
def events_info(path: str, opts: Dict[str, Any], dt_ms: Optional[float] = None) -> str:
    """`eligo events info --json` as JSON text."""
class CartPole:
    """Gymnasium's CartPole-v1 in the engine (`eligo.envs.CartPole`)."""

    def __init__(self, seed: int = 0) -> None: ...
    def reset(self, episode: int = 0) -> Any: ...
    def step(self, action: int) -> Tuple[Any, float, bool, bool]: ...
    state: Any
    @property
    def observation(self) -> Any: ...
    @property
    def elapsed(self) -> int: ...
    @property
    def inputs(self) -> int: ...
    @property
    def agent_steps(self) -> int: ...
    def encode(self, steps: Optional[int] = None) -> Tuple[Any, Any]: ...

def encode(
    values: List[float],
    ranges: List[Tuple[float, float]],
    *,
    neurons: int = 10,
    rate_hz: float = 200.0,
    dt_ms: float = 1.0,
    steps: int = 1,
    seed: int = 0,
    episode: int = 0,
    agent_step: int = 0,
) -> Tuple[Any, Any]: ...
def rates(
    values: List[float], ranges: List[Tuple[float, float]], *, neurons: int = 10, rate_hz: float = 200.0
) -> Any: ...
def nir_import(graph: Dict[str, Any], version: str, dt_ms: float, discretization: str) -> str: ...
def nir_export(
    net: Network,
    discretization: Optional[str] = None,
    source: Optional[Dict[str, Any]] = None,
    version: str = "",
) -> Tuple[Dict[str, Any], bool]: ...
