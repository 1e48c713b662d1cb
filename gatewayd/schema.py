"""`gatewayd schema`: the JSON Schema of every frame and every method's params and result."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from protocol import frames
from protocol.methods import SPECS
from protocol.version import PROTOCOL_VERSION, SUBPROTOCOL


def build_schema() -> dict:
    models: list[type[BaseModel]] = [frames.Hello, frames.Call, frames.Welcome, frames.Result,
                                     frames.Error, frames.Event]
    params = {spec.params for spec in SPECS.values()}
    results = {spec.result for spec in SPECS.values() if spec.result is not None}
    _, defs = models_json_schema(
        [(m, "validation") for m in [*models, *sorted(params, key=lambda m: m.__name__)]],
        ref_template="#/$defs/{model}",
    )
    _, result_defs = models_json_schema(
        [(m, "validation") for m in sorted(results, key=lambda m: m.__name__)],
        ref_template="#/$defs/{model}",
    )
    for name, schema in result_defs["$defs"].items():  # after the params': additions only
        if defs["$defs"].setdefault(name, schema) != schema:
            raise ValueError(f"two models named {name} in the protocol schema")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"gatewayd wire protocol v{PROTOCOL_VERSION} ({SUBPROTOCOL})",
        "$defs": defs["$defs"],
        "methods": {
            name: {
                "params": {"$ref": f"#/$defs/{spec.params.__name__}"},
                **({"result": {"$ref": f"#/$defs/{spec.result.__name__}"}}
                   if spec.result is not None else {}),
                "role": spec.role,
                "summary": spec.summary,
                "errors": list(spec.errors),
                "needs_operator": spec.needs_operator,
                "demo_only": spec.demo_only,
            }
            for name, spec in sorted(SPECS.items())
        },
    }


def write_schema(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(build_schema(), indent=2, ensure_ascii=False) + "\n")
    return path
