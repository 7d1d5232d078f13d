"""The one way the lab runs a program: argv lists, checked exit codes, logged commands."""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from lab.errors import CommandFailed, LabError, pasteable

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
    on_line: Callable[[str], None] | None = None,
) -> Result:
    """Run argv; with capture=False its output goes to this process's terminal.

    `env` adds to (and overrides) this process's environment; a failure's pasteable
    command carries it. With `on_line`, stdout and stderr are merged and each line is
    handed over as it comes (a build's log); the Result's stdout holds them all. A
    non-zero exit raises CommandFailed when `check` is true.
    """
    command = pasteable(argv, env)
    log.debug("run: %s", command)
    full_env = None if env is None else {**os.environ, **env}
    try:
        if on_line is not None:
            returncode, stdout, stderr = _stream(argv, on_line, full_env, cwd)
        else:
            completed = subprocess.run(
                list(argv),
                input=input.encode() if isinstance(input, str) else input,
                stdout=subprocess.PIPE if capture else None,
                stderr=subprocess.PIPE if capture else None,
                env=full_env,
                cwd=cwd,
                timeout=timeout,
                check=False,
            )
            returncode, stdout, stderr = (
                completed.returncode,
                _text(completed.stdout),
                _text(completed.stderr),
            )
    except FileNotFoundError:
        raise LabError(f"{argv[0]!r} is not installed or not on PATH (needed for: {command})") from None
    except subprocess.TimeoutExpired as expired:
        raise CommandFailed(
            argv, -1, _text(expired.stdout), _text(expired.stderr) + f"\n(timed out after {timeout}s)", env
        ) from None
    result = Result(tuple(argv), returncode, stdout, stderr)
    if returncode != 0:
        log.debug("exit %d: %s\n%s%s", returncode, command, result.stdout, result.stderr)
        if check:
            raise CommandFailed(argv, returncode, result.stdout, result.stderr, env)
    return result


def _stream(
    argv: Sequence[str],
    on_line: Callable[[str], None],
    env: Mapping[str, str] | None,
    cwd: str | os.PathLike[str] | None,
) -> tuple[int, str, str]:
    lines: list[str] = []
    with subprocess.Popen(
        list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=cwd,
        text=True,
        errors="replace",
    ) as child:
        assert child.stdout is not None
        for line in child.stdout:
            lines.append(line)
            on_line(line)
    return child.returncode, "".join(lines), ""


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    if isinstance(data, str):
        return data
    return data.decode("utf-8", errors="replace")
