"""The lab's exceptions: each carries what a user needs to act on it."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence


class LabError(Exception):
    """A failure the user can act on; its message says what to do."""


class ConfigError(LabError):
    """Bad input: raised before anything is started."""


def pasteable(argv: Sequence[str], env: Mapping[str, str] | None = None) -> str:
    """A command line a shell runs as given, with the variables it needs before it (A=1 cmd ...)."""
    settings = [f"{key}={shlex.quote(value)}" for key, value in (env or {}).items()]
    return " ".join([*settings, shlex.join(argv)])


class CommandFailed(LabError):
    """A command exited non-zero; carries the pasteable command (with its variables) and its output."""

    def __init__(
        self,
        argv: Sequence[str],
        returncode: int,
        stdout: str,
        stderr: str,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.env = dict(env or {})
        super().__init__(self._describe())

    @property
    def command(self) -> str:
        """The command as it can be pasted into a shell, its variables included."""
        return pasteable(self.argv, self.env)

    def _describe(self) -> str:
        parts = [f"command failed with exit code {self.returncode}: {self.command}"]
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
