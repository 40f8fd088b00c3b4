"""Reading committed YAML into pydantic models, with errors that say what to fix.

A load error names the file, the field, what was expected and what was found, and
lists every problem of the file at once.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from pipelines.core.errors import ConfigError, Problem

M = TypeVar("M", bound=BaseModel)


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key given twice instead of keeping the last one."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key '{key}' appears twice in this mapping", key_node.start_mark
            )
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_yaml(text: str, path: str) -> Any:
    """Parse YAML text; a syntax error becomes a ConfigError with line and column."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        reason = getattr(exc, "problem", None) or str(exc)
        raise ConfigError({path: [Problem(where, f"invalid YAML: {reason}")]}) from None


def load_document(root: Path, rel_path: str, *, schema: type[M]) -> M:
    """Read `root/rel_path` and validate it as `schema`; ConfigError lists every problem."""
    try:
        text = (root / rel_path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError({rel_path: [Problem("", "file does not exist")]}) from None
    except UnicodeDecodeError as exc:
        raise ConfigError({rel_path: [Problem("", f"not UTF-8 text ({exc.reason})")]}) from None
    return parse_document(text, rel_path, schema=schema)


def parse_document(text: str, rel_path: str, *, schema: type[M]) -> M:
    """YAML text (from a file or a past commit) parsed strictly and validated as `schema`."""
    return validate(parse_yaml(text, rel_path), rel_path, schema=schema)


def validate(data: Any, rel_path: str, *, schema: type[M]) -> M:
    """Validate parsed YAML as `schema`, translating pydantic's errors for people."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        found = type(data).__name__
        raise ConfigError({rel_path: [Problem("", f"expected a mapping of fields at the top level; found a {found}")]})
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise ConfigError({rel_path: [_problem(schema, err) for err in exc.errors()]}) from None


def _problem(model: type[BaseModel], err: dict) -> Problem:
    loc = tuple(err["loc"])
    location = _dotted(loc)
    kind = err["type"]
    if kind == "missing":
        return Problem(location, "required field is missing")
    if kind == "extra_forbidden":
        allowed = _fields_at(model, loc[:-1])
        hint = f"; expected one of: {', '.join(allowed)}" if allowed else ""
        return Problem(location, f"unknown field{hint}")
    message = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    message = message.replace("Input should be", "expected", 1)
    value = err.get("input")
    if isinstance(value, (dict, list)):
        return Problem(location, message)
    return Problem(location, f"{message}; found {_show(value)}")


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names of the pydantic model reached by following `loc`, best effort."""
    current: Any = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    return list(current.model_fields) if _is_model(current) else []


def _step(current: Any, part: Any) -> Any:
    if _is_model(current) and isinstance(part, str) and part in current.model_fields:
        return _unwrap(current.model_fields[part].annotation)
    origin = typing.get_origin(current)
    if origin in (list, tuple) and isinstance(part, int):
        return _unwrap(typing.get_args(current)[0])
    if origin is dict:
        return _unwrap(typing.get_args(current)[1])
    return None


def _unwrap(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        models = [a for a in args if _is_model(a)]
        return models[0] if models else (args[0] if args else None)
    if typing.get_origin(annotation) is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    return annotation


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)
