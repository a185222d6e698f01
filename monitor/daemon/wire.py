"""The engine's message format: frozen dataclasses of `monitor.models` to JSON-safe values and back.

Messages travel through Redis between machines, so they are plain JSON (never pickle: whoever can write to
the queue must not be able to run code on a worker). `to_wire(obj)` turns a dataclass (and what it holds:
datetimes, timedeltas, paths, tuples, dicts, bytes) into JSON values; `from_wire(cls, data)` rebuilds it from
the class's type hints. Bytes are zlib-compressed and base64-encoded, so a page body costs its compressed size.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import types
import typing
import zlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.errors import MonitorError

logger = logging.getLogger(__name__)

VERSION = 1  # of the message format; a worker refuses a message of another version


class WireError(MonitorError):
    """A message that does not decode into what it should be."""

    kind = "engine"


def to_wire(value: Any) -> Any:
    """Return `value` as JSON-safe data (dataclasses as dicts of their fields)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_wire(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(zlib.compress(value, 3)).decode("ascii")
    if isinstance(value, (tuple, list)):
        return [to_wire(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_wire(v) for k, v in value.items()}
    return value


def from_wire(cls: Any, data: Any) -> Any:
    """Return the `cls` (a dataclass or a type hint) rebuilt from `to_wire` data. Raises WireError."""
    try:
        return _decode(cls, data)
    except (TypeError, ValueError, KeyError, zlib.error) as exc:
        raise WireError(f"bad message: cannot read a {getattr(cls, '__name__', cls)}: {exc}") from exc


def _decode(hint: Any, data: Any) -> Any:
    if data is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return _decode(options[0], data) if len(options) == 1 else data  # unions of plain values stay as sent
    if origin is typing.Literal:
        if data not in typing.get_args(hint):
            raise ValueError(f"{data!r} is not one of {typing.get_args(hint)}")
        return data
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v) for v in data)
        return tuple(_decode(a, v) for a, v in zip(args, data, strict=True))
    if origin is dict:
        key, val = typing.get_args(hint)
        return {_decode(key, k): _decode(val, v) for k, v in data.items()}
    if dataclasses.is_dataclass(hint):
        hints = typing.get_type_hints(hint)
        names = {f.name for f in dataclasses.fields(hint) if f.init}
        return hint(**{k: _decode(hints[k], v) for k, v in data.items() if k in names})
    if hint is datetime:
        return datetime.fromisoformat(data)
    if hint is timedelta:
        return timedelta(seconds=float(data))
    if hint is Path:
        return Path(data)
    if hint is bytes:
        return zlib.decompress(base64.b64decode(data))
    if hint is float and isinstance(data, int):
        return float(data)
    if hint in (str, int, float, bool) and not isinstance(data, hint):
        raise TypeError(f"{data!r} is not a {hint.__name__}")
    return data
