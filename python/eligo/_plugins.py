"""``eligo.plugins()``: the rule plugins Eligo finds, with their parameter tables."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence, Union

from . import _eligo


def plugins(
    plugin_dir: Union[None, str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]"]]] = None,
) -> List[Dict[str, Any]]:
    """The rule plugins found, as ``eligo plugins`` lists them, in search order.

    Looks in ``plugin_dir`` (one directory or several, searched first), then every entry of
    ``$ELIGO_PLUGIN_PATH`` (colon-separated), then the interpreter's own directory; the
    built-in rules (eprop, bptt, stdp, rstdp) are linked into the package and answer to their
    names when no library of that name is found, so they need no plugin folder. Your own
    rules: point ``plugin_dir`` or ``ELIGO_PLUGIN_PATH`` at their build. Only libraries that
    export Eligo's entry symbol are loaded.

    Returns one dict per library: ``rule`` (the name ``rule=`` finds it by), ``path`` (None
    for the built-in rules linked into the package, listed last unless a library shadows them),
    ``refused`` (None, or why it cannot be used, e.g. built for another ABI), and for a usable
    one ``name``, ``version``, ``abi`` (major, minor), ``output`` (``"Gradient"`` or
    ``"Direct"``), ``signature`` (what it was built with) and ``parameters``: one dict per
    parameter with ``name``, ``type`` (number, choice, string, population, projection,
    modulator), ``default`` (a float, the choice's name, or the default text; ``""`` for a
    name that must be given), ``unit``, ``min`` and ``max`` (numbers; else None), ``choices``
    (choice; else None), ``doc``, and ``default_text`` and ``range`` exactly as
    ``eligo plugins`` prints them.
    """
    if plugin_dir is None:
        dirs: List[str] = []
    elif isinstance(plugin_dir, (str, os.PathLike)):
        dirs = [os.fspath(plugin_dir)]
    else:
        dirs = [os.fspath(d) for d in plugin_dir]
    return list(_eligo.plugins(dirs))
