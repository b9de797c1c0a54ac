"""Waiting for a sign that something happened, never for a fixed time: a loaded machine is
slower, not wrong, so only a failing test waits out the deadline."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

T = TypeVar("T")

DEADLINE = 15.0  # seconds a wait may take before the test fails


async def wait_until(check: Callable[[], Awaitable[T | None]], what: str, *, within: float = DEADLINE) -> T:
    """Polls `check` until it returns something truthy, and returns that; fails naming `what`
    after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: still not the case after {within} s")
        await asyncio.sleep(0.02)
