"""NIR graphs (the Neuromorphic Intermediate Representation) as Eligo networks and back.

The files are read and written by the ``nir`` package (``pip install nir``); the mapping is the
engine's, the same as ``eligo nir import|export`` (docs/nir.md)::

    import nir, eligo.nir
    net = eligo.nir.to_network(nir.read("model.nir"), dt_ms=0.1)   # an eligo.Network
    res = eligo.simulate(net)
    graph = eligo.nir.from_network(net, source=nir.read("model.nir"))  # a nir.NIRGraph
    nir.write("back.nir", graph)

``to_network`` and ``from_network`` also take and give paths: ``eligo.nir.read(path, dt_ms)``,
``eligo.nir.write(path, net)``. Bad graphs raise :class:`eligo.InputError` naming the node and
the field.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

from . import _eligo

__all__ = ["to_toml", "to_network", "from_network", "read", "write"]


def _nir() -> Any:
    try:
        import nir
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "eligo.nir needs the nir package: pip install nir (1.0.x)"
        ) from e
    return nir


def _as_dict(graph: Any) -> Tuple[dict, str]:
    nir = _nir()
    if not isinstance(graph, nir.NIRGraph):
        raise _eligo.InputError(
            f"graph: a {type(graph).__name__}: must be a nir.NIRGraph (nir.read(path))"
        )
    return graph.to_dict(), str(getattr(nir, "version", ""))


def to_toml(graph: Any, dt_ms: float = 1.0, discretization: str = "euler") -> str:
    """The network description (TOML text) of a ``nir.NIRGraph`` at step ``dt_ms``.

    ``discretization``: ``"euler"`` (as snnTorch, Norse and Spyx simulate NIR graphs) or
    ``"exact"``.
    """
    d, version = _as_dict(graph)
    return _eligo.nir_import(d, version, float(dt_ms), discretization)


def to_network(graph: Any, dt_ms: float = 1.0, discretization: str = "euler") -> Any:
    """An :class:`eligo.Network` of a ``nir.NIRGraph`` (see :func:`to_toml`)."""
    from . import Network

    return Network(_eligo.Network.from_text(to_toml(graph, dt_ms, discretization)))


def from_network(
    net: Any, discretization: Optional[str] = None, source: Any = None
) -> Any:
    """The ``nir.NIRGraph`` of a network with its current weights.

    ``source``: the ``nir.NIRGraph`` the network was imported from; its nodes are written back
    unchanged (bit for bit) but for trained weights. Without it the graph is made from Eligo's
    parameters. ``discretization``: ``"euler"`` (default) or ``"exact"``.
    """
    nir = _nir()
    src = None
    version = ""
    if source is not None:
        src, version = _as_dict(source)
    inner = getattr(net, "_net", net)
    d, _from_source = _eligo.nir_export(inner, discretization, src, version)
    return nir.dict2NIRNode(d)


def read(path: Any, dt_ms: float = 1.0, discretization: str = "euler") -> Any:
    """:func:`to_network` of the NIR file at ``path``."""
    return to_network(_nir().read(path), dt_ms, discretization)


def write(path: Any, net: Any, discretization: Optional[str] = None, source: Any = None) -> None:
    """Write :func:`from_network` of ``net`` to ``path`` with ``nir.write``."""
    _nir().write(path, from_network(net, discretization, source))
