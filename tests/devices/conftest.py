"""Shared fixtures for device tests."""

from __future__ import annotations

from typing import Any

import pytest


class Events:
    """Records what a driver emits: `emit` is the callable to hand to the Device."""

    def __init__(self) -> None:
        self.all: list[tuple[str, dict[str, Any]]] = []

    def emit(self, topic: str, data: dict[str, Any]) -> None:
        self.all.append((topic, data))

    def of(self, topic: str) -> list[dict[str, Any]]:
        return [data for t, data in self.all if t == topic]


@pytest.fixture
def events() -> Events:
    return Events()
