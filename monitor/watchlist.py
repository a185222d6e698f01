"""What is watched: change config.yaml's targets from the command line (and later the app): add, edit, pause,
resume and remove them.

The file keeps its comments, key order and layout (ruamel.yaml round-trip). A change is validated with the
same schema as loading, by parsing the edited text as a whole, and written atomically under a lock beside the
file; when the result would be invalid nothing is written and the ConfigError says why. After a write, a
daemon running on the config's store is sent SIGHUP, whoever made the change (CLI, app, API).
"""

from __future__ import annotations

import fcntl
import io
import logging
import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.config.settings import parse_settings
from monitor.errors import ConfigError, StoreError
from monitor.models import Settings
from monitor.store import SnapshotStore, write_atomic

logger = logging.getLogger(__name__)


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long URL
    yaml.indent(mapping=2, sequence=4, offset=2)  # `  - name: ...`, as config.yaml and the README write lists
    return yaml


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    lock = path.with_name(f".{path.name}.lock")
    with open(lock, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True)
class Edited:
    """A change written to the config file: the settings it now holds, and what the running daemon was told."""

    settings: Settings
    daemon: str


def reload_daemon(settings: Settings) -> str:
    """Send SIGHUP to the daemon running on `settings`' store, if any; return what happened, in words."""
    status = SnapshotStore(settings.snapshots_dir).daemon_status()
    if not status or not isinstance(status.get("pid"), int):
        return "no daemon is running; the next run uses it"
    try:
        os.kill(status["pid"], signal.SIGHUP)
    except OSError as exc:
        logger.warning("could not tell the daemon (pid %s) to reload: %s", status["pid"], exc)
        return f"the daemon (pid {status['pid']}) could not be told to reload: {exc}"
    return f"the daemon (pid {status['pid']}) reloads the config"


def _change(path: Path, change: Callable[[Any], None]) -> Edited:
    """Apply `change` to the file's document, validate the result, write it, tell the daemon; return what
    was done. Raises ConfigError (nothing written) or StoreError."""
    from ruamel.yaml.error import YAMLError

    yaml = _yaml()
    with _locked(path):
        try:
            text = path.read_text(encoding="utf-8") if path.exists() else ""
            doc = yaml.load(text) if text.strip() else None
            if "\n- " in text or "\n  - " in text or "\n    - " in text:
                from ruamel.yaml.util import load_yaml_guess_indent

                _, indent, offset = load_yaml_guess_indent(text)  # write lists the way this file does
                indent, offset = indent or 4, offset or 0
                yaml.indent(mapping=indent - offset if indent > offset else 2, sequence=indent, offset=offset)
        except (OSError, YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read it: {exc}") from exc
        if doc is None:
            from ruamel.yaml.comments import CommentedMap

            doc = CommentedMap()
        if not hasattr(doc, "get"):
            raise ConfigError(f"{path}: the file is not a mapping of settings")
        change(doc)
        out = io.StringIO()
        yaml.dump(doc, out)
        new_text = out.getvalue()
        settings = parse_settings(new_text, path)  # the same checks as loading; raises ConfigError
        try:
            write_atomic(path, new_text.encode("utf-8"))
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {exc}") from exc
    logger.info("%s updated", path)
    return Edited(settings, reload_daemon(settings))


def _targets(doc: Any) -> Any:
    from ruamel.yaml.comments import CommentedSeq

    if doc.get("targets") is None:
        doc["targets"] = CommentedSeq()
    targets = doc["targets"]
    if not isinstance(targets, list):
        raise ConfigError("targets: must be a list")
    return targets


def _entry(doc: Any, name: str) -> Any:
    for entry in _targets(doc):
        if hasattr(entry, "get") and entry.get("name") == name:
            return entry
    raise ConfigError(f"unknown target {name!r}")


def add_target(path: Path, entry: dict[str, Any]) -> Edited:
    """Append a target (its keys as in config.yaml). Raises ConfigError (a duplicate name, a bad value)."""
    from ruamel.yaml.comments import CommentedMap

    def change(doc: Any) -> None:
        if any(hasattr(e, "get") and e.get("name") == entry.get("name") for e in _targets(doc)):
            raise ConfigError(f"a target called {entry.get('name')!r} exists already")
        _targets(doc).append(CommentedMap(entry))

    return _change(path, change)


def edit_target(path: Path, name: str, changes: dict[str, Any]) -> Edited:
    """Set each dotted key (`every`, `fetch.via`) of target `name` to its value (None removes the key).
    Raises ConfigError."""
    from ruamel.yaml.comments import CommentedMap

    def change(doc: Any) -> None:
        entry = _entry(doc, name)
        for key, value in changes.items():
            *parents, last = key.split(".")
            node = entry
            for part in parents:
                if node.get(part) is None:
                    node[part] = CommentedMap()
                node = node[part]
                if not hasattr(node, "get"):
                    raise ConfigError(f"{name}: {key}: {part} is not a mapping")
            if value is None:
                node.pop(last, None)
            else:
                node[last] = value

    return _change(path, change)


def set_paused(path: Path, name: str, paused: bool) -> Edited:
    """Pause or resume target `name` (`paused: true`, or the key removed). Raises ConfigError."""
    return edit_target(path, name, {"paused": True if paused else None})


def remove_target(path: Path, name: str) -> Edited:
    """Remove target `name` from the file (its snapshots and reports stay). Raises ConfigError."""
    from ruamel.yaml.comments import CommentedSeq

    def change(doc: Any) -> None:
        targets = _targets(doc)
        targets.remove(_entry(doc, name))
        if not targets:  # ruamel writes an empty list after a comment as an invalid bare `[]`
            doc["targets"] = CommentedSeq()

    return _change(path, change)


def name_of(url: str) -> str:
    """Return a target name made from a URL: its last meaningful path part (or host), in a-z, 0-9 and '-'."""
    import re
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "page"
    words = [p for p in parts.path.split("/") if p and not p.isdigit()]
    base = (words[-1] if words else parts.hostname or "page").lower()
    return re.sub(r"[^a-z0-9]+", "-", base).strip("-")[:64].strip("-") or "page"
