"""Waiting in a test for something another task or process does: a bound on waiting, not a
timing claim (the deadline only ends a hang)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any


async def until(check: Callable[[], Any], what: str, seconds: float = 5.0) -> Any:
    """`check`'s first truthy answer (it may be a coroutine function), polled every 20 ms;
    AssertionError naming `what` when it has none within `seconds`."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + seconds
    while loop.time() < give_up:
        found = check()
        if inspect.isawaitable(found):
            found = await found
        if found:
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"not within {seconds} s: {what}")
