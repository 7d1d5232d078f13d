"""The lab's exceptions: each carries what a user needs to act on it."""

from __future__ import annotations

import shlex
from collections.abc import Sequence


class LabError(Exception):
    """A failure the user can act on; its message says what to do."""


class ConfigError(LabError):
    """Bad input: raised before anything is started."""


class CommandFailed(LabError):
    """A command exited non-zero; carries the pasteable command and its output."""

    def __init__(self, argv: Sequence[str], returncode: int, stdout: str, stderr: str) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = [f"command failed with exit code {self.returncode}: {shlex.join(self.argv)}"]
        for label, text in (("stdout", self.stdout), ("stderr", self.stderr)):
            text = text.strip()
            if text:
                parts.append(f"--- {label} ---\n{_tail(text)}")
        return "\n".join(parts)


class NotReady(LabError):
    """A readiness condition did not hold by its deadline."""


class NoSuchNode(LabError):
    """A node name that is not part of the lab."""


def _tail(text: str, lines: int = 40) -> str:
    kept = text.splitlines()[-lines:]
    return "\n".join(kept)
