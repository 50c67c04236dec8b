"""InputError raised from the Python half, with the parts and message layout of the engine's."""

from typing import Any, Optional

from ._eligo import InputError


def input_error(
    field: str, value: Any, allowed: str, hint: str = "", file: Optional[str] = None
) -> InputError:
    """An :class:`InputError` for ``field`` = ``value``: what is ``allowed`` and what to try
    (``hint``), formatted as the engine formats its own (``file: field = value: allowed
    (hint)``)."""
    value = "" if value is None else str(value)
    msg = f"{file}: " if file else ""
    if field:
        msg += field + (f" = {value}" if value else "") + ": "
    elif value:
        msg += f"{value}: "
    msg += allowed + (f" ({hint})" if hint else "")
    e = InputError(msg)
    e.file, e.field, e.value, e.allowed, e.hint = file, field, value, allowed, hint
    return e
