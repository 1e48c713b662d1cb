"""Roles, lowest first. A method names the lowest role that may call it."""

from typing import Literal

Role = Literal["viewer", "cashier", "supervisor", "manager", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "cashier", "supervisor", "manager", "admin")


def rank(role: str) -> int:
    return ROLES.index(role)


def at_least(role: str, required: str) -> bool:
    return rank(role) >= rank(required)
