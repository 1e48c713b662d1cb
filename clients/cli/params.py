"""`key=value` words into a method's params map, typed by the method's params model."""

from __future__ import annotations

import json
import types
import typing
from typing import Any

from clients.cli.failure import EXIT_USAGE, Failure


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types an annotation admits (Optional/Union/Annotated unwrapped)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        out: list[Any] = []
        for arg in typing.get_args(annotation):
            out += _unwrap(arg)
        return out
    return [annotation]


def _field_types(model: Any, path: list[str]) -> list[Any] | None:
    """Types of the params field at `path` in a pydantic model, or None when unknown."""
    from pydantic import BaseModel

    current: Any = model
    types_: list[Any] | None = None
    for key in path:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(key)
        if field is None:
            return None
        types_ = [t for t in _unwrap(field.annotation) if t is not type(None)]
        models = [t for t in types_ if isinstance(t, type) and issubclass(t, BaseModel)]
        current = models[0] if models else None
    return types_


def _wants_string(types_: list[Any] | None) -> bool:
    if not types_:
        return False
    for t in types_:
        if t is str:
            continue
        if typing.get_origin(t) is typing.Literal and all(
            isinstance(a, str) for a in typing.get_args(t)
        ):
            continue
        return False
    return True


def parse_value(raw: str, types_: list[Any] | None = None) -> Any:
    """JSON when it parses (`1000` int, `true`, `'["a"]'` a list), else the string itself.
    A field the method's params model declares as a string keeps the raw text, so
    `approve.operator=9001` sends "9001"."""
    if _wants_string(types_):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def params_model(method: str) -> Any:
    """The method's params model from the local catalogue; for a method this posctl does not
    know (a newer daemon), the base model, which still knows `approve`."""
    try:
        from protocol.methods import SPECS, Params
    except ImportError:  # pragma: no cover - protocol ships with the client
        return None
    spec = SPECS.get(method)
    return spec.params if spec else Params


def parse_params(pairs: list[str], method: str | None = None) -> dict[str, Any]:
    """`key=value` words -> a params map; `a.b=1` nests; `key:=JSON` always parses JSON."""
    model = params_model(method) if method else None
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        force_json = key.endswith(":")
        key = key.rstrip(":")
        if not sep or not key:
            raise Failure(EXIT_USAGE, f"expected key=value, got {pair!r}")
        path = key.split(".")
        if any(not part for part in path):
            raise Failure(EXIT_USAGE, f"bad key {key!r}")
        if force_json:
            try:
                value = json.loads(raw)
            except ValueError as exc:
                raise Failure(EXIT_USAGE, f"{key}:= needs JSON: {exc}") from None
        else:
            value = parse_value(raw, _field_types(model, path) if model else None)
        node = params
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise Failure(EXIT_USAGE, f"{part} is both a value and a map")
            node = child
        node[path[-1]] = value
    return params
