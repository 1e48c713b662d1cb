"""Error codes of wire protocol v1 (DESIGN §4) and the exception that carries one."""

from __future__ import annotations

from typing import Any, Literal

ErrorCode = Literal[
    "bad_frame",
    "unauthenticated",
    "forbidden",
    "approval_required",
    "unknown_method",
    "invalid_params",
    "not_found",
    "conflict",
    "device_offline",
    "device_busy",
    "payment_declined",
    "internal",
]
ERROR_CODES: tuple[str, ...] = ErrorCode.__args__  # type: ignore[attr-defined]


class ProtocolError(Exception):
    """Raised anywhere below a handler; the server turns it into an `error` frame."""

    def __init__(self, code: ErrorCode, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def __repr__(self) -> str:
        return f"ProtocolError({self.code!r}, {self.message!r})"
