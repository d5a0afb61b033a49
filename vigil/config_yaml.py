"""The YAML side of config loading: a safe loader that refuses duplicate keys and hostile
sizes, the 1-based line of every key path, and ``${VAR}`` / ``${VAR:-default}`` substitution."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, cast

import yaml

_ENV_REF = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


class _LineLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys."""


#: Bounds that keep a hostile file from exhausting memory or the stack.
MAX_DEPTH = 32
MAX_NODES = 100_000
_MERGE_TAG = "tag:yaml.org,2002:merge"


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG:  # '<<: *defaults' (merged below, explicit keys win)
            continue
        if not isinstance(key_node, yaml.ScalarNode):
            raise yaml.constructor.ConstructorError(
                None,
                None,
                "a key must be a plain value, not a list or mapping",
                key_node.start_mark,
            )
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first on line {seen[key] + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    loader.flatten_mapping(node)
    return loader.construct_mapping(node, deep=deep)


def _check_bounds(text: str) -> None:
    """Refuse nesting deeper than ``MAX_DEPTH`` before anything recursive sees the text."""
    depth = 0
    for event in yaml.parse(text, Loader=_LineLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise yaml.MarkedYAMLError(
                    problem=f"nested more than {MAX_DEPTH} levels deep",
                    problem_mark=cast("yaml.error.Mark", event.start_mark),
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _expanded_size(root: yaml.Node | None) -> tuple[int, yaml.Node | None]:
    """Nodes the document has once aliases are expanded (memoised: linear in the file)."""
    sizes: dict[int, int] = {}
    biggest: yaml.Node | None = None

    def size(node: yaml.Node) -> int:
        nonlocal biggest
        if id(node) in sizes:
            return sizes[id(node)]
        if isinstance(node, yaml.MappingNode):
            n = 1 + sum(size(k) + size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            n = 1 + sum(size(v) for v in node.value)
        else:
            n = 1
        n = min(n, MAX_NODES + 1)
        if n > MAX_NODES and biggest is None:
            biggest = node
        sizes[id(node)] = n
        return n

    return (size(root) if root is not None else 0), biggest


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _line_index(node: yaml.Node | None, prefix: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """Map each key path (tuple of keys and list indexes) to its 1-based YAML line."""
    lines: dict[tuple[Any, ...], int] = {}
    if node is None:
        return lines
    lines[prefix] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            path = (*prefix, key_node.value)
            sub = _line_index(value_node, path)
            sub[path] = key_node.start_mark.line + 1
            lines.update(sub)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines.update(_line_index(item, (*prefix, i)))
    return lines


def _substitute_env(
    data: Any, env: Mapping[str, str], path: tuple[Any, ...], missing: list[tuple[Any, ...]]
) -> Any:
    if isinstance(data, dict):
        return {k: _substitute_env(v, env, (*path, k), missing) for k, v in data.items()}
    if isinstance(data, list):
        return [_substitute_env(v, env, (*path, i), missing) for i, v in enumerate(data)]
    if isinstance(data, str) and "${" in data:

        def repl(m: re.Match[str]) -> str:
            name, default = m["name"], m["default"]
            if name in env:
                return env[name]
            if default is not None:
                return default
            missing.append((*path, name))
            return ""

        return _ENV_REF.sub(repl, data)
    return data


def _format_path(path: tuple[Any, ...]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _nearest_line(lines: dict[tuple[Any, ...], int], path: tuple[Any, ...]) -> int | None:
    for n in range(len(path), -1, -1):
        if path[:n] in lines:
            return lines[path[:n]]
    return None


def load_yaml(text: str) -> tuple[Any, yaml.Node | None]:
    """The data of ``text`` and its node tree; ``yaml.YAMLError`` if invalid or too big."""
    _check_bounds(text)
    node = yaml.compose(text, Loader=_LineLoader)
    total, biggest = _expanded_size(node)
    if total > MAX_NODES:
        raise yaml.MarkedYAMLError(
            problem=f"aliases expand to more than {MAX_NODES} values",
            problem_mark=biggest.start_mark if biggest is not None else None,
        )
    data = yaml.load(text, Loader=_LineLoader)  # a SafeLoader subclass
    return data, node
