"""The one way the lab runs a program: argv lists, checked exit codes, logged commands."""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lab.errors import CommandFailed, LabError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Result:
    """What a finished command returned (stdout/stderr empty when not captured)."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    capture: bool = True,
    input: str | bytes | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
) -> Result:
    """Run argv; with capture=False its output goes to this process's terminal.

    `env` adds to (and overrides) this process's environment. A non-zero exit raises
    CommandFailed when `check` is true.
    """
    command = shlex.join(argv)
    log.debug("run: %s", command)
    full_env = None if env is None else {**os.environ, **env}
    data = input.encode() if isinstance(input, str) else input
    try:
        completed = subprocess.run(
            list(argv),
            input=data,
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.PIPE if capture else None,
            env=full_env,
            cwd=cwd,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise LabError(f"{argv[0]!r} is not installed or not on PATH (needed for: {command})") from None
    except subprocess.TimeoutExpired as expired:
        raise CommandFailed(
            argv, -1, _text(expired.stdout), _text(expired.stderr) + f"\n(timed out after {timeout}s)"
        ) from None
    result = Result(tuple(argv), completed.returncode, _text(completed.stdout), _text(completed.stderr))
    if completed.returncode != 0:
        log.debug("exit %d: %s\n%s%s", completed.returncode, command, result.stdout, result.stderr)
        if check:
            raise CommandFailed(argv, completed.returncode, result.stdout, result.stderr)
    return result


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    if isinstance(data, str):
        return data
    return data.decode("utf-8", errors="replace")
