"""The lab's one polling helper: wait for a condition until a deadline."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from lab.errors import LabError, NotReady

# What a check may raise while its condition is not there yet: a command that failed
# (a daemon not up), or output not yet whole. Anything else is a fault in the check
# itself and surfaces at once, not as a timeout.
NOT_YET: tuple[type[Exception], ...] = (LabError, json.JSONDecodeError)

T = TypeVar("T")
BACKOFF = 1.5  # how much a growing pause grows after each poll (max_interval)


@dataclass(frozen=True)
class Check(Generic[T]):
    """One observation of a condition: whether it holds, and what was seen."""

    ok: bool
    detail: str
    value: T


def wait_until(
    check: Callable[[], Check[T]],
    *,
    what: str,
    timeout: float,
    interval: float = 0.25,
    max_interval: float | None = None,
    progress: Callable[[Check[T]], None] | None = None,
    diagnostics: Callable[[Check[T] | None], str] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    not_yet: tuple[type[Exception], ...] = NOT_YET,
) -> Check[T]:
    """Poll `check` until it holds; on timeout raise NotReady with the last observation.

    `progress` sees every observation whose detail changed; `diagnostics` (e.g. node
    logs) is added to the error. An exception of a `not_yet` kind from `check` counts as
    "not yet" and is reported if it was the last thing seen; any other passes at once.
    With `max_interval`, the pause grows by half after each poll up to it: a condition that
    comes soon is seen soon, and a long wait costs few polls (each may be a `docker exec`).
    """
    deadline = clock() + timeout
    pause = interval
    last: Check[T] | None = None
    last_error: Exception | None = None
    shown = None
    while True:
        try:
            last = check()
            last_error = None
        except not_yet as error:
            last_error = error
        if last is not None and last_error is None:
            if last.ok:
                if progress and last.detail != shown:
                    progress(last)
                return last
            if progress and last.detail != shown:
                progress(last)
                shown = last.detail
        if clock() >= deadline:
            break
        sleep(pause)
        pause = min(pause * BACKOFF, max_interval) if max_interval is not None else pause
    seen = f"last seen: {last.detail}" if last is not None else "nothing observed"
    if last_error is not None:
        seen += f"\nlast check failed: {last_error}"
    message = f"timed out after {timeout:g}s waiting for {what}; {seen}"
    if diagnostics is not None:
        try:
            message += "\n" + diagnostics(last)
        except Exception as error:
            message += f"\n(diagnostics unavailable: {error})"
    raise NotReady(message)
