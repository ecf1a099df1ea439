"""Waiting for a condition in async tests, one way for every suite."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

import pytest


async def eventually(predicate: Callable[[], Any], timeout: float = 15.0, *,
                     interval: float = 0.01, what: str = "condition") -> Any:
    """Poll ``predicate`` (a function, or a coroutine function) until it returns something
    truthy, and return that; fail the test after ``timeout`` seconds, naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}: {predicate}")
        await asyncio.sleep(interval)

