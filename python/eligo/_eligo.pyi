"""Type stub of the compiled module `eligo._eligo` (use the wrappers in `eligo`)."""

from typing import Any, Callable, Dict, List, Optional, Tuple

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
    net: Network, duration_ms: Optional[float] = None, threads: Optional[int] = None
) -> Dict[str, Any]:
    """The raw result: spikes as packed uint8 records, state, counters, rates_hz, threads, wall_s."""

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
