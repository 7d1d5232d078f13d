"""`lab up` as a list of steps: one line per step, with its time, and progress while it runs.

On a terminal, a running step rewrites its own line with its latest progress (a
build's `Step 7/19`); elsewhere (CI logs) a step prints its progress at most every
PROGRESS_EVERY seconds, and one line when it ends.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

PROGRESS_EVERY = 20.0
DONE, FAILED = "✓", "✗"
# What says a line to the user (print_line, a step's say, a test's list.append).
Say = Callable[[str], None]


def print_line(message: str) -> None:
    """The lab's messages to the user: on stderr, prefixed `lab:`."""
    print(f"lab: {message}", file=sys.stderr, flush=True)


@dataclass
class Step:
    """One running step: what it is doing now, and what it came to."""

    title: str
    out: TextIO
    tty: bool
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=0.0)
    outcome: str = ""  # e.g. "cached", "built": shown after the title
    _shown: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.started = self._shown = self.clock()

    def progress(self, text: str) -> None:
        """Say what the step is doing now (rewrites the line on a terminal, else now and then)."""
        now = self.clock()
        if self.tty:
            line = f"lab: … {self.title}: {text} ({now - self.started:.0f} s)"
            self.out.write("\r\033[K" + line[:160])
            self.out.flush()
        elif now - self._shown >= PROGRESS_EVERY:
            self._shown = now
            print(f"lab: … {self.title}: {text} ({now - self.started:.0f} s)", file=self.out, flush=True)

    def say(self, text: str) -> None:
        """A line of its own under the step (a choice made, a warning)."""
        self._clear()
        print(f"lab:   {text}", file=self.out, flush=True)

    def _clear(self) -> None:
        if self.tty:
            self.out.write("\r\033[K")

    def end(self, mark: str) -> float:
        """The step's one line: its mark, title, outcome and time; the seconds it took."""
        self._clear()
        took = self.clock() - self.started
        outcome = f": {self.outcome}" if self.outcome else ""
        print(f"lab: {mark} {self.title}{outcome} ({took:.1f} s)", file=self.out, flush=True)
        return took


class Steps:
    """Prints steps as they run."""

    def __init__(
        self,
        out: TextIO | None = None,
        *,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.out = out or sys.stderr
        self.clock = clock
        self.tty = self.out.isatty() if tty is None else tty
        self.timings: list[tuple[str, float]] = []  # (title, seconds) of each step that ended

    @contextlib.contextmanager
    def step(self, title: str) -> Iterator[Step]:
        """Run one step: ✓ when the block ends, ✗ (and the error passes on) when it raises."""
        current = Step(title, self.out, self.tty, self.clock)
        try:
            yield current
        except BaseException:
            current.end(FAILED)
            raise
        self.timings.append((title, current.end(DONE)))
