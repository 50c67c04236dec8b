"""Type stub of the compiled module `eligo._eligo` (use the wrappers in `eligo`)."""

from typing import Any, Dict, List, Optional, Tuple

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
