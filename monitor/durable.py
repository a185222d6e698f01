"""Durable file writes (temp file, fsync, os.replace) and versioned JSON documents."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from monitor.errors import StoreError

FORMAT_VERSION = 1


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the whole new one, never a part.

    Raises StoreError when the disk refuses (full, read-only, permissions).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        os.fchmod(fd, 0o644)  # mkstemp creates 0600; snapshots and reports are meant to be read
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_json(path: Path, document: dict[str, Any]) -> None:
    """Atomically write `document` as JSON with `"version": 1` first. Raises StoreError."""
    body = {"version": FORMAT_VERSION, **{k: v for k, v in document.items() if k != "version"}}
    write_atomic(path, (json.dumps(body, indent=1, ensure_ascii=False, sort_keys=False) + "\n").encode())


def read_json(path: Path) -> dict[str, Any]:
    """Return the JSON object at `path`, checking its version.

    Raises StoreError if it is unreadable, not an object, or of an unknown version.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreError(f"cannot read {path}: {exc}") from exc
    if not isinstance(document, dict):
        raise StoreError(f"{path}: not a JSON object")
    if document.get("version") != FORMAT_VERSION:
        raise StoreError(f"{path}: unsupported format version {document.get('version')!r}")
    return document
