"""Binds the protocol's method catalogue to handlers. Params are validated before a handler
runs; roles, approvals and the operator requirement are checked in server/session.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from protocol.methods import SPECS, MethodSpec, Params

if TYPE_CHECKING:
    from gatewayd.auth import Operator
    from gatewayd.server.session import Session


@dataclass
class CallContext:
    session: Session
    method: str
    operator: Operator | None  # the operator logged in on this connection
    approver: Operator | None = None  # who approved this call, when approval was needed
    extra: dict[str, Any] = field(default_factory=dict)

    params: Any = None

    @property
    def actor(self) -> str | None:
        return self.operator.id if self.operator else None

    @property
    def operator_id(self) -> str:
        """The logged-in operator, for a method that needs one (`needs_operator`: the session
        has refused the call without)."""
        if self.operator is None:
            from protocol.errors import ProtocolError

            raise ProtocolError("unauthenticated", "log in first (auth.login)",
                                {"login_required": True})
        return self.operator.id

    async def require(self, role: str, action: str) -> None:
        """A condition inside a handler that needs a higher role (a discount above the
        cashier's limit, say): pass if this connection has it or a valid `approve` in the
        params names someone who does; else `approval_required` {action, role}."""
        from protocol.errors import ProtocolError
        from protocol.roles import at_least

        if at_least(self.session.role or "viewer", role):
            return
        if self.approver is not None and at_least(self.approver.role, role):
            return
        app = self.session.app
        approve = getattr(self.params, "approve", None)
        if approve is None:
            await app.auth.denied(action, self.session.role or "viewer", role, self.actor)
            raise ProtocolError("approval_required", f"{action} needs approval by a {role}",
                                {"action": action, "role": role})
        self.approver = await app.auth.approve(approve.operator, approve.pin, action, role,
                                               self.actor, self.session.caller)

    async def require_as(self, method: str) -> None:
        """This call does what `method` does (a drawer kick in a print job is a drawer.open),
        so it needs what `method` needs at this site, with approval offered the same way."""
        app = self.session.app
        await self.require(app.required_role(SPECS[method]), method)


Handler = Callable[[CallContext, Any], Awaitable[Any]]


class Registry:
    def __init__(self) -> None:
        self.handlers: dict[str, tuple[MethodSpec, Handler]] = {}

    def bind(self, name: str, handler: Handler) -> None:
        if name not in SPECS:
            raise KeyError(f"{name} is not in protocol.methods: add its spec first")
        self.handlers[name] = (SPECS[name], handler)

    def method(self, name: str) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            self.bind(name, fn)
            return fn

        return deco

    def get(self, name: str) -> tuple[MethodSpec, Handler] | None:
        return self.handlers.get(name)


def params_of(spec: MethodSpec, raw: dict[str, Any]) -> Params:
    return spec.params.model_validate(raw)
