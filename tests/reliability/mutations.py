"""Mutated copies of real Slack payloads: missing fields, wrong types, garbage."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "data" / "slack_requests"

Path_ = tuple[str | int, ...]


def deep_garbage(depth: int) -> Any:
    value: Any = "bottom"
    for level in range(depth):
        value = {"k": [value, level]} if level % 2 else [value]
    return value


NASTY_VALUES: list[Any] = [
    None,
    0,
    -1,
    1e308,
    True,
    "",
    " ",
    "x" * 50_000,
    "\u202egnp.exe\u0000\ud7ff💥\u0301\ufeff",
    "<@U0CUST1|<script>>&amp;",
    "ltv:{T0001}:cust:U0CUST1",
    "T0001\r\nX-Injected: 1",
    "../../etc/passwd",
    [],
    {},
    [1, "two", None],
    deep_garbage(40),
]


def load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def paths(value: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    """Every place in a JSON tree, containers and leaves, outermost first."""
    if prefix:
        yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from paths(child, (*prefix, index))


def parent_of(tree: Any, path: Path_) -> Any:
    node = tree
    for step in path[:-1]:
        node = node[step]
    return node


def without(tree: dict[str, Any], path: Path_) -> dict[str, Any]:
    mutated = copy.deepcopy(tree)
    parent = parent_of(mutated, path)
    if isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent.pop(path[-1])
    return mutated


def replaced(tree: dict[str, Any], path: Path_, value: Any) -> dict[str, Any]:
    mutated = copy.deepcopy(tree)
    parent_of(mutated, path)[path[-1]] = copy.deepcopy(value)
    return mutated


def mutants(
    tree: dict[str, Any], *, seed: int, per_path: int = 3
) -> Iterator[tuple[str, dict[str, Any]]]:
    """For each place: the tree without it, and with a few nasty values there."""
    rng = random.Random(seed)
    for path in paths(tree):
        label = "/".join(str(p) for p in path)
        yield f"-{label}", without(tree, path)
        for value in rng.sample(NASTY_VALUES, per_path):
            yield f"{label}={str(value)[:20]!r}", replaced(tree, path, value)
