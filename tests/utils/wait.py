"""Poll for a condition instead of sleeping for a guessed time.

`wait_until(predicate)` calls `predicate()` every `interval` seconds and returns its
first truthy value; after `timeout` seconds it fails the test with `message`.
`await wait_until_async(...)` does the same inside an event loop without blocking it.
"""

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def _timed_out(predicate: Callable[[], object], timeout: float, message: str | None) -> AssertionError:
    what = message or getattr(predicate, "__name__", repr(predicate))
    return AssertionError(f"timed out after {timeout:g} s waiting for: {what}")


def wait_until(predicate: Callable[[], T], *, timeout: float = 10.0, interval: float = 0.05,
               message: str | None = None) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise _timed_out(predicate, timeout, message)
        time.sleep(interval)


async def wait_until_async(predicate: Callable[[], T], *, timeout: float = 10.0, interval: float = 0.01,
                           message: str | None = None) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise _timed_out(predicate, timeout, message)
        await asyncio.sleep(interval)
