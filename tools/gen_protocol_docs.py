#!/usr/bin/env python3
"""Generate docs/protocol.md, docs/protocol.schema.json, docs/journal.md and
docs/journal.schema.json from protocol/.

    python tools/gen_protocol_docs.py            # rewrite docs/ and clients/web/lib/protocol.d.ts
    python tools/gen_protocol_docs.py --out DIR  # write somewhere else (the staleness test)
    python tools/gen_protocol_docs.py --check    # exit 1 when docs/ is stale

The prose (endpoint, handshake, auth, pairing, subscriptions, limits, units) is kept here;
frames, error codes, roles and every method of protocol.methods.SPECS (params table from its
pydantic model, minimum role, flags, errors, one example exchange) are generated, so a new
method needs nothing but its spec. The JSON Schema is `gatewayd schema`'s
(gatewayd.schema.write_schema). The journal pages list every event kind of
protocol.journal.EVENTS with its fields: the replication schema head office reads.
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import json
import sys
import tempfile
import types
import typing
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pydantic import BaseModel  # noqa: E402
from pydantic.fields import FieldInfo  # noqa: E402
from pydantic_core import PydanticUndefined  # noqa: E402

from protocol import frames, journal  # noqa: E402
from protocol.errors import ERROR_CODES  # noqa: E402
from protocol.methods import SPECS, MethodSpec, Params  # noqa: E402
from protocol.roles import ROLES  # noqa: E402
from protocol.version import PROTOCOL_VERSION, SUBPROTOCOL  # noqa: E402

MD_NAME = "protocol.md"
SCHEMA_NAME = "protocol.schema.json"
JOURNAL_MD_NAME = "journal.md"
JOURNAL_SCHEMA_NAME = "journal.schema.json"

ERROR_TEXT = {
    "bad_frame": "The frame is not a msgpack map of the contract (random bytes, a text frame, "
    "a float, a wrong field type). The connection stays open.",
    "unauthenticated": "No `hello` first, an unknown or revoked token (the connection is then "
    "closed), a call without a token outside pairing, a wrong PIN, or a method that needs a "
    "logged-in operator (`details.login_required`).",
    "forbidden": "The connection's role is too low and approval cannot help (a viewer token), "
    "the approver's role is too low, or the operator is locked (`details.locked_s`).",
    "approval_required": "The call needs a higher role: retry it with `approve` "
    "(`details`: `{action, role}`).",
    "unknown_method": "No such method (or a `sim.*` method outside `gatewayd demo`).",
    "invalid_params": "The params do not match the method's model; `details.errors` lists "
    "`{field, error}`.",
    "not_found": "The thing named does not exist (device, sale, receipt, pairing request ...).",
    "conflict": "The state does not allow it (a sale already completed, a shift not open ...).",
    "device_offline": "The device is not connected or does not answer.",
    "device_busy": "The device answers but cannot do it now (scale unstable, printer busy).",
    "payment_declined": "The payment provider refused the tender.",
    "internal": "A bug in the daemon; it is logged and the connection stays open.",
}

def role_table() -> str:
    """Which methods each role is the minimum for, from the catalogue itself, so this table
    cannot disagree with what the daemon checks."""
    lines = ["| role | the minimum role of (before a site's `[auth] require`) |", "|---|---|"]
    for role in ROLES:
        names = [f"`{s.name}`" for s in SPECS.values() if s.role == role and not s.demo_only]
        lines.append(f"| `{role}` | {', '.join(names) or '(nothing more)'} |")
    return "\n".join(lines)


SECTION_TITLES = {
    "": "Session and system",
    "system": "Session and system",
    "subscribe": "Session and system",
    "unsubscribe": "Session and system",
    "auth": "Authentication",
    "pair": "Authentication",
    "devices": "Devices",
    "scale": "Devices",
    "printer": "Devices",
    "drawer": "Devices",
    "display": "Devices",
    "sale": "Sale",
    "receipt": "Sale",
    "catalog": "Catalogue",
    "shift": "Cash, shifts and reports",
    "day": "Cash, shifts and reports",
    "report": "Cash, shifts and reports",
    "promo": "Promotions and vouchers",
    "voucher": "Promotions and vouchers",
    "coupon": "Promotions and vouchers",
    "payment": "Payments",
    "member": "Members",
    "members": "Members",
    "stock": "Inventory",
    "inventory": "Inventory",
    "sim": "Demo simulators (`gatewayd demo` only)",
}


# -- types ---------------------------------------------------------------------------------
def type_name(annotation: Any) -> str:
    """A short, readable name for a field's type: `str`, `int?`, `list[str]`, `"a"|"b"`."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin is typing.Union or origin is types.UnionType:
        inner = [a for a in args if a is not type(None)]
        text = " | ".join(type_name(a) for a in inner)
        return f"{text} | nil" if len(inner) < len(args) else text
    if origin is typing.Literal:
        return " | ".join(json.dumps(a, ensure_ascii=False) for a in args)
    if origin in (list, tuple, set, frozenset):
        return f"list[{', '.join(type_name(a) for a in args if a is not Ellipsis) or 'any'}]"
    if origin is dict:
        return f"map[{type_name(args[0])}, {type_name(args[1])}]" if args else "map"
    if annotation is Any:
        return "any"
    if annotation is type(None):
        return "nil"
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return annotation.__name__
        return {"str": "str", "int": "int", "bool": "bool", "bytes": "bin", "float": "float",
                "datetime": "timestamp", "dict": "map", "list": "list"}.get(
            annotation.__name__, annotation.__name__)
    return str(annotation).replace("typing.", "")


def nested_models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        out += nested_models(arg)
    return list(dict.fromkeys(out))


def constraints(field: FieldInfo) -> list[str]:
    out = []
    names = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<", "min_length": "min length",
             "max_length": "max length", "pattern": "pattern", "multiple_of": "multiple of"}
    for meta in field.metadata:
        for attr, label in names.items():
            value = getattr(meta, attr, None)
            if value is not None:
                out.append(f"{label} {value}")
    return out


def default_text(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        value = field.default_factory()
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    return f"`{json.dumps(wire_json(value), ensure_ascii=False)}`"


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def fields_table(model: type[BaseModel], skip: tuple[str, ...] = ()) -> list[str]:
    rows = [(name, f) for name, f in model.model_fields.items() if name not in skip]
    if not rows:
        return []
    lines = ["| field | type | default | description |", "|---|---|---|---|"]
    for name, f in rows:
        key = f.alias or name
        desc = " ".join(filter(None, [f.description or "", "; ".join(constraints(f))]))
        lines.append(
            f"| `{key}` | `{cell(type_name(f.annotation))}` | {default_text(f)} | {cell(desc)} |"
        )
    return lines


# -- examples ------------------------------------------------------------------------------
def wire_json(obj: Any) -> Any:
    """msgpack-equivalent JSON: bin as {"$bin": hex}, timestamps as {"$ts": ISO UTC}."""
    if isinstance(obj, dict):
        return {str(k): wire_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [wire_json(v) for v in obj]
    if isinstance(obj, (bytes, bytearray)):
        return {"$bin": bytes(obj).hex()}
    if isinstance(obj, dt.datetime):
        return {"$ts": obj.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")}
    if isinstance(obj, BaseModel):
        return wire_json(obj.model_dump(exclude_none=True))
    return obj


def example_block(spec: MethodSpec, call_id: int) -> list[str]:
    ex = spec.example or {}
    if "params" not in ex and "result" not in ex:
        return ["_No example in the catalogue._", ""]
    call = {"type": "call", "id": call_id, "method": spec.name, "params": ex.get("params", {})}
    result = {"type": "result", "id": call_id, "result": ex.get("result")}
    return [
        "```json",
        "→ " + json.dumps(wire_json(call), ensure_ascii=False),
        "← " + json.dumps(wire_json(result), ensure_ascii=False),
        "```",
        "",
    ]


# -- sections ------------------------------------------------------------------------------
def section_of(name: str) -> str:
    prefix = name.split(".", 1)[0] if "." in name else name
    return SECTION_TITLES.get(prefix, prefix.capitalize())


def anchor(name: str) -> str:
    return name.replace(".", "").lower()


def method_doc(spec: MethodSpec, call_id: int) -> list[str]:
    out = [f"### `{spec.name}`", "", spec.summary, ""]
    flags = [f"minimum role **{spec.role}**"]
    if spec.lowest_role:
        flags.append(f"a site may lower it to {spec.lowest_role} (`[auth] require`)")
    flags.append("needs a logged-in operator (`auth.login`)" if spec.needs_operator
                 else "no operator login needed")
    if spec.token_optional:
        flags.append("callable without a token (pairing)")
    if spec.demo_only:
        flags.append("`gatewayd demo` only")
    out += ["- " + "; ".join(flags)]
    errors = ", ".join(f"`{e}`" for e in spec.errors) if spec.errors else "none specific"
    out += [f"- errors: {errors} (besides the generic ones, see [Errors](#errors))", ""]
    table = fields_table(spec.params, skip=("approve",))
    if table:
        out += ["Params (`approve` is accepted too, see [Approval](#approval)):", "", *table, ""]
    else:
        out += ["Params: none (`approve` is accepted, see [Approval](#approval)).", ""]
    seen: set[type[BaseModel]] = {Params}
    for f in spec.params.model_fields.values():
        for sub in nested_models(f.annotation):
            if sub in seen or sub.__name__ == "Approve":
                continue
            seen.add(sub)
            out += [f"`{sub.__name__}`:", "", *fields_table(sub), ""]
    if spec.result is not None:
        name = spec.result.__name__
        out += [f"Result: [`{name}`](#{result_anchor(name)}).", ""]
    out += ["Example:", "", *example_block(spec, call_id)]
    return out


def frame_table(model: type[BaseModel]) -> list[str]:
    lines = ["| field | type | |", "|---|---|---|"]
    for name, f in model.model_fields.items():
        if name == "type":
            lit = typing.get_args(f.annotation)
            note = f"always `{json.dumps(lit[0] if lit else f.default)}`"
        else:
            note = "required" if f.is_required() else "optional"
        lines.append(f"| `{name}` | `{cell(type_name(f.annotation))}` | {note} |")
    return lines


PROSE_TOP = f"""\
# gatewayd wire protocol v{PROTOCOL_VERSION}

<!-- Generated by tools/gen_protocol_docs.py from protocol/ — do not edit by hand.
     Change protocol/ (or the prose in the generator) and run
     `python tools/gen_protocol_docs.py`; tests/test_protocol_docs.py fails when stale. -->

The contract between the till daemon and its clients (checkout and kiosk pages, `posctl`,
back office, tests). The JSON Schema of every frame and params model is in
[`protocol.schema.json`](protocol.schema.json) (also written by `gatewayd schema`).

## Endpoint

- `ws://HOST:PORT/ws`, default listen `127.0.0.1:8750` (`[server] listen`).
- WebSocket subprotocol **`{SUBPROTOCOL}`**: offer it in `Sec-WebSocket-Protocol`.
- Binary frames only, **one msgpack map per frame**, string keys. A text frame gets
  `bad_frame`.
- **Origin allow-list.** A browser's `Origin` must be the daemon's own origin
  (`http://LISTEN`, `http://localhost:PORT`, `http://127.0.0.1:PORT`) or listed in
  `[server] allowed_origins`; any other origin is refused at the handshake (HTTP 403), so a
  page from elsewhere cannot open the drawer. Clients that send no `Origin` (posctl, the
  Python client) are admitted and authenticate by token.
- Limits: a frame over `[server] max_frame_bytes` (default 1 MiB) closes the connection
  with **1009** (message too big). Each connection may have `[server] max_calls_in_flight`
  (default 16) calls running or answered but not yet sent; more wait (a client that does
  not read its answers holds back only itself, and loses none of them).
- Shutdown (SIGTERM) closes every client with **1001** (going away) after the transaction in
  flight has committed.

## Frames

Every frame is a map with a `type`. Client → server: `hello`, `call`.
Server → client: `welcome`, `result`, `error`, `event`.

### Handshake: hello / welcome

The first frame is always `hello`; anything else (or nothing within 5 s,
`server.hello_timeout_s`) gets `unauthenticated` and the connection is closed, as does an
unknown or revoked token. A token revoked while its connection is open closes that
connection within a second (1008 "token revoked").
`since` asks for replay of the buffered events after that seq (a reconnect, see
[Replay](#replay)). The answer is `welcome` with the protocol version, the daemon, the till,
the connection's role (`unpaired` without a token) and the current event seq.
"""

PROSE_AFTER_FRAMES = """\
```json
→ {"type": "hello", "token": "gw_…", "client": {"name": "checkout", "kind": "web"}}
← {"type": "welcome", "protocol": 1, "server": {"name": "gatewayd", "version": "0.1.0"}, \
"till": {"store": "S001", "till": "T01"}, "role": "cashier", "seq": 57}
→ {"type": "call", "id": 1, "method": "system.info", "params": {}}
← {"type": "result", "id": 1, "result": {…}}
→ {"type": "call", "id": 2, "method": "devices.get", "params": {"id": "nope"}}
← {"type": "error", "id": 2, "code": "not_found", "message": "no device 'nope'"}
← {"type": "event", "topic": "sale.updated", "seq": 58, "data": {…}}
```

Calls carry a client-chosen integer `id`; the `result` or `error` carries it back. Calls run
concurrently, so answers may come in any order. An `error` with `id` nil answers a frame
whose id could not be read.

## Units

- **Money**: integers in minor units, **fen** (0.01 CNY). Never floats: a float anywhere in a
  frame is `bad_frame`.
- **Quantity**: integer **thousandths** of the item's unit (`qty` 1000 = 1 piece); weighed
  items are sold per kg and their quantity is **grams** (1000 = 1 kg). Line amount =
  round-half-up of `unit_price * qty / 1000`.
- **Time**: the msgpack **timestamp extension (type -1)**, always UTC on the wire.
- **Identifiers**: sales, lines and jobs carry UUID strings (opaque to clients; this daemon
  makes version-7 UUIDs, time first, so its indexes grow at one end); receipt numbers are
  `{store}-{till}-{day}-{n}`.

In this document frames are shown as msgpack-equivalent JSON: a msgpack `bin` is written
`{"$bin": "<hex>"}` and a timestamp `{"$ts": "<ISO 8601 UTC>"}`; `→` is client to server,
`←` server to client.
"""

PROSE_AUTH = """\
## Authentication and roles

A connection's role comes from its **token** (`gatewayd token add NAME --role ROLE` prints a
token once and stores only its hash; `gatewayd token revoke` ends it). An operator may log
in on the connection with `auth.login {operator, pin}`; the effective role is then the lower
of the token's and the operator's. Five wrong PINs lock the operator for five minutes. Every
login, failure, lock, approval and denial is a journal event.

Roles, lowest first: `viewer`, `cashier`, `supervisor`, `manager`, `admin`. A method names
the lowest role that may call it; a site may raise a method's requirement in `[auth]
require`, e.g. `"drawer.open" = "supervisor"`, and lower the few that say so, e.g.
`"sale.refund" = "cashier"`. Generated from the method catalogue:

@ROLES@

### Approval

A call that needs a higher role than the connection has is answered with
`approval_required`, whose `details` are `{"action": METHOD, "role": REQUIRED_ROLE}`.
The client asks a supervisor or manager for their operator id and PIN and sends **the same
call again** with `approve` in its params; the approver's role must be at least the required
one (else `forbidden`), and a wrong PIN counts towards their lock. A viewer token is never
offered approval: it gets `forbidden`.

```json
→ {"type": "call", "id": 9, "method": "drawer.open", "params": {}}
← {"type": "error", "id": 9, "code": "approval_required", "message": "drawer.open needs \
approval by a manager", "details": {"action": "drawer.open", "role": "manager"}}
→ {"type": "call", "id": 10, "method": "drawer.open", "params": {"approve": \
{"operator": "9001", "pin": "9999"}}}
← {"type": "result", "id": 10, "result": {"ok": true}}
```

### Pairing

A new client without a token says `hello` with an empty token (its role is `unpaired`; only
`pair.request` and `pair.status` may be called). `pair.request` returns a short `code` to
show the user and a secret `request_id`. An administrator runs
`gatewayd pair approve CODE --role ROLE` (or `deny`) on the till; the client polls
`pair.status {request_id}` and receives its token **exactly once** (`approved`), after
which the status is `collected`. Unapproved requests expire. The client stores the token
and reconnects with it.
"""

PROSE_EVENTS = """\
## Subscriptions and topics

Events are published on the daemon's bus with a dotted topic such as `sale.updated`,
`scanner.data`, `scale.reading` or `devices.status`, and a `seq` that increases by one per
event across the whole daemon. `subscribe {topics}` adds topics to the connection:

- a topic without a dot, like `sale`, matches every event whose first segment is `sale`
  (`sale.updated`, `sale.completed`, …);
- a full topic, like `scale.reading`, matches exactly that topic;
- `*` matches everything.

Topic groups: `devices` (state and status changes), `scanner`, `scale`, `printer`, `drawer`,
`display`, `sale` (`sale.updated` carries the whole sale), `alerts`, `backup` (a backup's
progress and end: `system.backup`).

### Slow clients

Every connection has a bounded outbox (`[server] client_queue`, default 256 frames); the bus
never waits for a client. Events on **snapshot topics** — `scale.reading`,
`devices.status`, `printer.status`, `drawer.status` — are coalesced for a client that has
not caught up: it gets the latest per device, not every one. A client whose queue of other
events overflows is closed with **1008** (policy violation, reason
`client too slow: event queue overflowed`); it may reconnect and replay.

### Replay

The daemon keeps the last `[server] replay_buffer` events (default 4096). A client that
reconnects says `hello` with `since` (the last seq it saw), or subscribes with
`subscribe {topics, since}`: the buffered events after that seq that match the new topics
are sent first, then live ones. The result's `replayed` counts them and **`gap` is true when
some events after `since` were already gone from the buffer** — the client must then reload
its state (e.g. `sale.current`) instead of relying on events.

## HTTP endpoints

Plain HTTP on the same port:

- `GET /healthz` — JSON: `status` (`ok` or `degraded`), version, uptime, store, device
  states, client count. HTTP 200 when ok, 503 when degraded.
- `GET /metrics` — Prometheus text: connections, calls by method and outcome, call latency
  histogram, events published and dropped, slow clients closed, device online and garbage
  counters, journal seq.
- `GET /` and below — the web clients (checkout, kiosk, back office).
"""


def render_md() -> str:
    out = [PROSE_TOP]
    for model in (frames.Hello, frames.Call, frames.Welcome, frames.Result, frames.Error,
                  frames.Event):
        name = model.model_fields["type"].default
        if name is PydanticUndefined or name is None:
            name = typing.get_args(model.model_fields["type"].annotation)[0]
        out += [f"#### `{name}`", "", *frame_table(model), ""]
        for f in model.model_fields.values():
            for sub in nested_models(f.annotation):
                out += [f"`{sub.__name__}`:", "", *fields_table(sub), ""]
    out.append(PROSE_AFTER_FRAMES)
    out += ["## Errors", "",
            "`{\"type\": \"error\", \"id\": int | nil, \"code\": str, \"message\": str, "
            "\"details\": map?}`. A bad frame gets an error, never a dropped daemon. Codes:", "",
            "| code | meaning |", "|---|---|"]
    out += [f"| `{code}` | {cell(ERROR_TEXT.get(code, ''))} |" for code in ERROR_CODES]
    out.append("")
    out.append(PROSE_AUTH.replace("@ROLES@", role_table()))
    out.append(PROSE_EVENTS)

    sections: dict[str, list[MethodSpec]] = {}
    for spec in SPECS.values():
        sections.setdefault(section_of(spec.name), []).append(spec)
    out += ["## Methods", "",
            "Every method with its params, minimum role, errors and an example exchange. The "
            "examples are real: run in this order against `gatewayd --config demo/shop.toml "
            "demo` (tests/test_protocol_examples.py), each answers what its example shows "
            "(ids, numbers and times differ).", ""]
    for title, specs in sections.items():
        names = ", ".join(f"[`{s.name}`](#{anchor(s.name)})" for s in specs)
        out.append(f"- **{title}**: {names}")
    out.append("")
    call_id = 1
    for title, specs in sections.items():
        out += [f"## {title}", ""]
        for spec in specs:
            out += method_doc(spec, call_id)
            call_id += 1
    out += result_types_section()
    text = "\n".join(out)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.rstrip("\n") + "\n"


# -- results ---------------------------------------------------------------------------------
def result_anchor(name: str) -> str:
    return f"result-{name.lower()}"


def all_models(roots: list[type[BaseModel]]) -> list[type[BaseModel]]:
    """The roots and every model nested in them, each once, in first-seen order."""
    seen: dict[type[BaseModel], None] = {}
    todo = list(roots)
    while todo:
        model = todo.pop(0)
        if model in seen:
            continue
        seen[model] = None
        for f in model.model_fields.values():
            todo += nested_models(f.annotation)
    return list(seen)


def result_models() -> list[type[BaseModel]]:
    roots = [s.result for s in SPECS.values() if s.result is not None]
    return all_models(list(dict.fromkeys(roots)))


def result_types_section() -> list[str]:
    models = result_models()
    if not models:
        return []
    out = ["## Result types", "",
           "What the methods answer. A field marked **always** is in every answer (its value "
           "may be nil when the type allows it); an **optional** one may be absent, as its "
           "description says. The tests check every answer of the test suite against these "
           "models; `clients/web/lib/protocol.d.ts` declares them for the web client.", ""]
    for model in models:
        out += [f'### <a id="{result_anchor(model.__name__)}"></a>`{model.__name__}`', ""]
        doc = (model.__doc__ or "").strip()
        if doc and not any(doc == (b.__doc__ or "").strip() for b in model.__mro__[1:]):
            out += [" ".join(doc.split()), ""]
        out += [*presence_table(model), ""]
    return out


# -- the journal ------------------------------------------------------------------------------
JOURNAL_TOP = f"""\
# gatewayd journal events, schema version {journal.JOURNAL_SCHEMA_VERSION}

<!-- Generated by tools/gen_protocol_docs.py from protocol/journal.py — do not edit by hand.
     tests/test_protocol_docs.py fails when stale. -->

Every state change of a till is one transaction that appends events to its journal
`(seq, at, kind, data)`: `seq` gap-free, `at` the commit time in microseconds since the epoch
(UTC), `kind` one of the names below and `data` a msgpack map. The journal is the audit log,
the crash-recovery source and what replication ships to head office as it is
(`push.events[]`). This page is the schema of `data` for each kind, generated from the models
in `protocol/journal.py`; the JSON Schema is [`journal.schema.json`](journal.schema.json).

- A field marked **always** is always present (its value may be nil when the type allows it);
  an **optional** field may be absent, as its description says.
- Money is integer fen, quantities integer thousandths (grams for kg items), times integer
  microseconds since the epoch unless a field says otherwise.
- A new kind, a new field or a changed type is a schema change: the version goes up and
  `SCHEMA_CHANGES` says what changed. Nothing is renamed or removed within a major version.
  The tests validate every event the test suite stores against these models.

**A till rebuilt from its journal.** `gatewayd restore --from-hq` rebuilds a till whose store
is lost from head office's copy of its journal (see
[headoffice.md](headoffice.md#recovering-a-lost-till)): every table a till sells with is
derived from these events (gatewayd/replication/rebuild.py), so since schema 7 the events
carry what that needs: the items of a catalog write (`catalog.items`), the PIN hash of
`operator.added`, the item of `sale.line_added`, the priced lines of `sale.completed`, the
document of `print.queued`, the cost and average of each stock move. What the journal does
not hold is reported by the restore, never dropped: client tokens (their secrets never leave
the till), master data from head office (sent again), members' phones (masked in the
journal, as ever: head office's registry sends them back), and whatever an
event from before schema 7 lacks. `store.restored` is the first event of a till so rebuilt.

Schema changes:

@CHANGES@
"""


def presence_table(model: type[BaseModel]) -> list[str]:
    lines = ["| field | type | | description |", "|---|---|---|---|"]
    for name, f in model.model_fields.items():
        presence = "always" if f.is_required() else "optional"
        lines.append(f"| `{f.alias or name}` | `{cell(type_name(f.annotation))}` | {presence} "
                     f"| {cell(f.description or '')} |")
    return lines


def render_journal_md() -> str:
    changes = "\n".join(f"- **{v}**: {text}" for v, text in sorted(journal.SCHEMA_CHANGES.items()))
    out = [JOURNAL_TOP.replace("@CHANGES@", changes)]
    groups: dict[str, list[str]] = {}
    for kind in sorted(journal.EVENTS):
        groups.setdefault(kind.split(".", 1)[0], []).append(kind)
    out += ["## Kinds", ""]
    out += [f"- **{g}**: " + ", ".join(f"[`{k}`](#{anchor(k)})" for k in kinds)
            for g, kinds in groups.items()]
    out.append("")
    for kinds in groups.values():
        for kind in kinds:
            model = journal.EVENTS[kind]
            out += [f"### `{kind}`", "", f"Model `{model.__name__}`.", ""]
            doc = (model.__doc__ or "").strip()
            if doc and model.__doc__ != journal.EventData.__doc__:
                out += [" ".join(doc.split()), ""]
            out += [*presence_table(model), ""]
            for sub in all_models([model])[1:]:
                out += [f"`{sub.__name__}`:", "", *presence_table(sub), ""]
    text = "\n".join(out)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.rstrip("\n") + "\n"


def build_journal_schema() -> dict[str, Any]:
    from pydantic.json_schema import models_json_schema

    models = sorted(set(journal.EVENTS.values()), key=lambda m: m.__name__)
    _, defs = models_json_schema([(m, "validation") for m in [journal.JournalRecord, *models]],
                                 ref_template="#/$defs/{model}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"gatewayd journal events, schema version {journal.JOURNAL_SCHEMA_VERSION}",
        "version": journal.JOURNAL_SCHEMA_VERSION,
        "$defs": defs["$defs"],
        "record": {"$ref": "#/$defs/JournalRecord"},
        "events": {kind: {"$ref": f"#/$defs/{model.__name__}"}
                   for kind, model in sorted(journal.EVENTS.items())},
    }


# -- typedefs for the web client ------------------------------------------------------------
DTS_PATH = ROOT / "clients" / "web" / "lib" / "protocol.d.ts"
DTS_TOP = """\
// The wire contract for the web client: every method's params and result, generated by
// tools/gen_protocol_docs.py from protocol/ — do not edit by hand (tests/test_protocol_docs.py
// fails when stale). Use from JSDoc:
//   /** @typedef {import('./protocol').Sale} Sale */
//   /** @type {import('./protocol').Result<'sale.add'>} */
// Money is integer fen, quantities integer thousandths; a msgpack timestamp arrives as a Date
// and a bin as a Uint8Array (@msgpack/msgpack's defaults).
"""


def ts_type(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return ts_type(args[0])
    if origin is typing.Union or origin is types.UnionType:
        return " | ".join(dict.fromkeys("null" if a is type(None) else ts_type(a) for a in args))
    if origin is typing.Literal:
        return " | ".join(json.dumps(a, ensure_ascii=False) for a in args)
    if origin in (list, tuple, set, frozenset):
        inner = [a for a in args if a is not Ellipsis]
        item = ts_type(inner[0]) if len(inner) == 1 else "unknown"
        return f"({item})[]" if "|" in item else f"{item}[]"
    if origin is dict:
        return f"Record<string, {ts_type(args[1])}>" if args else "Record<string, unknown>"
    if annotation is Any:
        return "unknown"
    if annotation is type(None):
        return "null"
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return annotation.__name__
        return {"str": "string", "int": "number", "bool": "boolean", "bytes": "Uint8Array",
                "float": "number", "datetime": "Date", "dict": "Record<string, unknown>",
                "list": "unknown[]"}.get(annotation.__name__, "unknown")
    return "unknown"


def ts_interface(model: type[BaseModel]) -> list[str]:
    out = [f"export interface {model.__name__} {{"]
    for name, f in model.model_fields.items():
        key = f.alias or name
        key = key if key.isidentifier() else json.dumps(key)
        optional = "" if f.is_required() else "?"
        doc = " ".join(filter(None, [f.description or "", "; ".join(constraints(f))]))
        if doc:
            out.append(f"  /** {doc} */")
        out.append(f"  {key}{optional}: {ts_type(f.annotation)};")
    out.append("}")
    return out


def render_dts() -> str:
    roots: list[type[BaseModel]] = []
    for spec in SPECS.values():
        roots.append(spec.params)
        if spec.result is not None:
            roots.append(spec.result)
    out = [DTS_TOP]
    for model in all_models(list(dict.fromkeys(roots))):
        out += [*ts_interface(model), ""]
    out += ["/** Every method: its params and its result. */", "export interface Methods {"]
    for name, spec in SPECS.items():
        result = spec.result.__name__ if spec.result is not None else "unknown"
        out.append(f"  {json.dumps(name)}: {{ params: {spec.params.__name__}; "
                   f"result: {result} }};")
    out += ["}", "",
            "export type MethodName = keyof Methods;",
            "export type ParamsOf<M extends MethodName> = Methods[M]['params'];",
            "export type Result<M extends MethodName> = Methods[M]['result'];", ""]
    return "\n".join(out)


def generate(out_dir: Path) -> list[Path]:
    from gatewayd.schema import write_schema

    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / MD_NAME
    md.write_text(render_md(), encoding="utf-8")
    schema = write_schema(out_dir / SCHEMA_NAME)
    journal_md = out_dir / JOURNAL_MD_NAME
    journal_md.write_text(render_journal_md(), encoding="utf-8")
    journal_schema = out_dir / JOURNAL_SCHEMA_NAME
    journal_schema.write_text(json.dumps(build_journal_schema(), indent=2, ensure_ascii=False)
                              + "\n", encoding="utf-8")
    return [md, schema, journal_md, journal_schema]


def stale(docs_dir: Path) -> list[str]:
    """Names of the files in docs_dir that differ from a fresh generation, with a diff."""
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        for fresh in generate(Path(tmp)):
            current = docs_dir / fresh.name
            new = fresh.read_text(encoding="utf-8")
            old = current.read_text(encoding="utf-8") if current.exists() else ""
            if old != new:
                diff = "".join(list(difflib.unified_diff(
                    old.splitlines(True), new.splitlines(True),
                    f"{current} (committed)", f"{fresh.name} (generated)", n=1))[:40])
                problems.append(f"{current} is {'stale' if old else 'missing'}\n{diff}")
    return problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=ROOT / "docs")
    p.add_argument("--check", action="store_true", help="exit 1 when the docs are stale")
    args = p.parse_args(argv)
    if args.check:
        problems = stale(args.out)
        if not DTS_PATH.exists() or DTS_PATH.read_text(encoding="utf-8") != render_dts():
            problems.append(f"{DTS_PATH} is stale")
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("run `python tools/gen_protocol_docs.py`", file=sys.stderr)
        return 1 if problems else 0
    for path in generate(args.out):
        print(f"wrote {path}")
    DTS_PATH.write_text(render_dts(), encoding="utf-8")
    print(f"wrote {DTS_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
