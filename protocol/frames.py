"""Every frame of wire protocol v1 as pydantic models (DESIGN §4, contract)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, TypeAdapter

from protocol.errors import ErrorCode


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ClientInfo(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    name: StrictStr = Field(max_length=64)
    kind: StrictStr = Field(max_length=32)


class Hello(_Frame):
    type: Literal["hello"]
    token: StrictStr = Field(max_length=128)
    client: ClientInfo
    since: StrictInt | None = None


class Call(_Frame):
    type: Literal["call"]
    id: StrictInt
    method: StrictStr
    params: dict[str, Any] = Field(default_factory=dict)


class ServerInfo(BaseModel):
    name: str
    version: str


class TillInfo(BaseModel):
    store: str
    till: str


class Welcome(_Frame):
    type: Literal["welcome"] = "welcome"
    protocol: int
    server: ServerInfo
    till: TillInfo
    role: str
    seq: int
    # Set when the daemon runs in safe mode (its store failed the start-up check): why, in
    # one sentence. A checkout shows it instead of selling.
    safe_mode: str | None = None


class Result(_Frame):
    type: Literal["result"] = "result"
    id: int
    result: Any


class Error(_Frame):
    type: Literal["error"] = "error"
    id: int | None
    code: ErrorCode
    message: str
    details: dict[str, Any] | None = None


class Event(_Frame):
    type: Literal["event"] = "event"
    topic: str
    seq: int
    data: dict[str, Any]


ClientFrame = Annotated[Hello | Call, Field(discriminator="type")]
ServerFrame = Annotated[Welcome | Result | Error | Event, Field(discriminator="type")]
client_frame = TypeAdapter(ClientFrame)
server_frame = TypeAdapter(ServerFrame)
