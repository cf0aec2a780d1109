"""
Load spec YAML keeping the line of every mapping, key and list item, and
check each record against a small declarative schema, so that every error
can name the file, the line and what was expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class SpecError(Exception):
    """A problem in a spec file: ``path:line: message``."""

    def __init__(self, path: str, line: int, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        super().__init__(f"{path}:{line}: {message}")


class Map(dict):
    """A YAML mapping that remembers its own line and the line of each key."""

    line: int
    key_lines: dict[str, int]


class Seq(list):
    """A YAML sequence that remembers its own line and each item's line."""

    line: int
    item_lines: list[int]


class _LocatingLoader(yaml.SafeLoader):
    """SafeLoader that records lines (1-based) and refuses duplicate keys."""


def _construct_mapping(loader: _LocatingLoader, node: yaml.MappingNode) -> Map:
    loader.flatten_mapping(node)
    result = Map()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in result:
            raise SpecError(
                loader.spec_path,
                line,
                f"duplicate key {key!r} (first at line {result.key_lines[key]}); expected each key once",
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
    return result


def _construct_sequence(loader: _LocatingLoader, node: yaml.SequenceNode) -> Seq:
    result = Seq(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


# YAML 1.2 booleans: only true/false. YAML 1.1 would read `on:` (our
# transition key) and `yes`/`no` as booleans.
_LocatingLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _first in "tTfF":
    _LocatingLoader.yaml_implicit_resolvers.setdefault(_first, []).append(
        ("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"))
    )
_LocatingLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LocatingLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_yaml(path: Path, display: str) -> Map:
    """Parse one spec file; YAML errors become SpecError with the line."""
    text = path.read_text(encoding="utf-8")
    loader = _LocatingLoader(text)
    loader.spec_path = display
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        message = f"YAML syntax error: {exc.problem or exc.context}"
        if exc.context and exc.context_mark is not None and exc.problem:
            message += f" ({exc.context}, opened at line {exc.context_mark.line + 1})"
        raise SpecError(display, line, message) from None
    finally:
        loader.dispose()
    if not isinstance(data, Map):
        raise SpecError(display, 1, "expected a mapping at the top level")
    return data


# --- schema ---------------------------------------------------------------

@dataclass(frozen=True)
class Field:
    """One key of a record: its type(s) and whether it must be present."""

    types: tuple[type, ...]
    required: bool = True
    describe: str = ""

    def expected(self) -> str:
        if self.describe:
            return self.describe
        names = {int: "an integer", str: "a string", bool: "true or false", list: "a list",
                 dict: "a mapping", type(None): "null"}
        return " or ".join(names.get(t, t.__name__) for t in self.types)


def req(*types: type, describe: str = "") -> Field:
    return Field(types, True, describe)


def opt(*types: type, describe: str = "") -> Field:
    return Field(types, False, describe)


class Located:
    """A view of one spec file that checks records and builds located errors."""

    def __init__(self, display: str, data: Map) -> None:
        self.path = display
        self.data = data

    def error(self, line: int, message: str) -> SpecError:
        return SpecError(self.path, line, message)

    def line_of(self, record: Any, key: str | None = None) -> int:
        if isinstance(record, Map):
            if key is not None and key in record.key_lines:
                return record.key_lines[key]
            return record.line
        if isinstance(record, Seq):
            return record.line
        return 1

    def section(self, key: str, kind: type = list, required: bool = True) -> Any:
        """A top-level key of the file, type-checked."""
        if key not in self.data:
            if not required:
                return None
            raise self.error(1, f"missing top-level key {key!r}")
        value = self.data[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            expected = {list: "a list", dict: "a mapping", str: "a string", int: "an integer"}[kind]
            raise self.error(self.data.key_lines[key], f"{key!r}: expected {expected}, got {type(value).__name__}")
        return value

    def records(self, key: str, schema: dict[str, Field]) -> list[tuple[Map, int]]:
        """The list under a top-level key, each item checked against ``schema``."""
        items = self.section(key, list)
        result = []
        for index, (item, line) in enumerate(zip(items, items.item_lines)):
            self.check(item, schema, f"{key}[{index}]", line)
            result.append((item, line))
        return result

    def check(self, record: Any, schema: dict[str, Field], where: str, line: int) -> None:
        if not isinstance(record, Map):
            raise self.error(line, f"{where}: expected a mapping with keys {', '.join(schema)}")
        for key in record:
            if key not in schema:
                raise self.error(
                    record.key_lines[key],
                    f"{where}: unexpected key {key!r}; expected one of {', '.join(schema)}",
                )
        for key, spec in schema.items():
            if key not in record:
                if spec.required:
                    raise self.error(record.line, f"{where}: missing key {key!r} ({spec.expected()})")
                continue
            value = record[key]
            ok = isinstance(value, spec.types) and not (
                isinstance(value, bool) and bool not in spec.types
            )
            if not ok:
                raise self.error(
                    record.key_lines[key],
                    f"{where}: {key!r} is {value!r}; expected {spec.expected()}",
                )
