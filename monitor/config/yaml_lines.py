"""Where things are in a YAML document: line numbers along a key path, duplicate keys (YAML keeps the last)."""

from __future__ import annotations

from typing import Any

import yaml


def dotted(loc: tuple[Any, ...]) -> str:
    """Return a key path like `targets[0].keep.age` for a validation error location."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """Return the 1-based line of the deepest YAML node found along `loc`."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), None)
            if node is None:
                break
            line = node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def duplicate_keys(node: yaml.Node | None, label: str, path: str = "") -> list[str]:
    """Return one problem line per key that appears twice in the same mapping (YAML keeps only the last)."""
    problems: list[str] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key, value in node.value:
            sub = f"{path}.{key.value}" if path else str(key.value)
            if key.value in seen:
                problems.append(f"{label}:{key.start_mark.line + 1}: {sub}: duplicate key")
            seen.add(key.value)
            problems += duplicate_keys(value, label, sub)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            problems += duplicate_keys(item, label, f"{path}[{i}]")
    return problems
