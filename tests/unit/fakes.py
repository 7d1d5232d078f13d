"""Fakes shared by the unit tests: the subprocess entry point, recorded."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.errors import CommandFailed
from lab.process import Result

# Recorded inputs: `docker inspect` output of a lab's containers.
DATA = Path(__file__).resolve().parent / "data"


@dataclass
class Call:
    """One command the code under test asked lab.process.run to run."""

    argv: list[str]
    kwargs: dict[str, Any]

    @property
    def env(self) -> dict[str, str]:
        return dict(self.kwargs.get("env") or {})


@dataclass
class FakeRun:
    """Stands in for lab.process.run: records every call, answers from a script.

    An unscripted command fails the test: no plausible output is made up.
    """

    calls: list[Call] = field(default_factory=list)
    script: list[tuple[tuple[str, ...], Callable[[list[str]], Result]]] = field(default_factory=list)

    def on(
        self,
        *prefix: str,
        returncode: int = 0,
        stdout: str = "",
        stderr: str = "",
        raises: Exception | None = None,
    ) -> None:
        """Answer commands that start with `prefix` (the first matching rule wins)."""

        def answer(argv: list[str]) -> Result:
            if raises is not None:
                raise raises
            return Result(tuple(argv), returncode, stdout, stderr)

        self.script.append((prefix, answer))

    def __call__(self, argv: Sequence[str], **kwargs: Any) -> Result:
        argv = list(argv)
        self.calls.append(Call(argv, kwargs))
        for prefix, answer in self.script:
            if tuple(argv[: len(prefix)]) == prefix:
                result = answer(argv)
                # Mirror on_line: the output, handed over line by line.
                on_line = kwargs.get("on_line")
                if on_line is not None:
                    for line in result.stdout.splitlines(keepends=True):
                        on_line(line)
                # Mirror lab.process.run: check=True (the default) raises on failure.
                if kwargs.get("check", True) and result.returncode != 0:
                    raise CommandFailed(argv, result.returncode, result.stdout, result.stderr)
                return result
        raise AssertionError(f"unexpected command: {argv!r}")

    @property
    def argvs(self) -> list[list[str]]:
        return [call.argv for call in self.calls]


class FakeLeader:
    """A node that answers every command with the same result, and records the commands."""

    def __init__(self, stdout: str = "", returncode: int = 0, stderr: str = "") -> None:
        self.stdout, self.returncode, self.stderr = stdout, returncode, stderr
        self.calls: list[list[str]] = []

    def exec(self, argv: Sequence[str], *, check: bool = True) -> Result:
        self.calls.append(list(argv))
        return Result(tuple(argv), self.returncode, self.stdout, self.stderr)
