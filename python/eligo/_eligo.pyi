"""Type stub of the compiled module `eligo._eligo` (use the wrappers in `eligo`)."""

from typing import Any, Dict, List, Optional, Tuple

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
    net: Network, duration_ms: Optional[float] = None, threads: Optional[int] = None
) -> Dict[str, Any]:
    """The raw result: spikes as packed uint8 records, state, counters, rates_hz, threads, wall_s."""
