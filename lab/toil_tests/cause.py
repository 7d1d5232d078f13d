"""The first line of the real cause of a failed Toil test, found in the text it left behind.

A Toil test that runs a workflow fails with `CalledProcessError`, which says nothing; the
cause is in the workflow's output. Where, in order of preference:

1. a failed job's log, which Toil's leader relays between `Log from job "NAME" follows:`
   / `=========>` and `<=========` (each line indented by a tab): the exception line that
   ends the first traceback there (the NameError of a job, not the leader's
   FailedJobsException that merely counts failed jobs);
2. the last traceback of the command itself (a user script's own error), unless it only
   reports a failed command;
3. the command's last line of output (e.g. virtualenv's one-line error), or pytest's own
   `E   ` lines when no command failed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

JOB_LOG_START = re.compile(r'Log from job "(?P<job>.+)" follows:')
JOB_LOG_END = "<========="
TRACEBACK = "Traceback (most recent call last):"
# Toil's log prefix: [2026-12-01T21:51:51+0000] [MainThread] [E] [toil.worker]
LOG_LINE = re.compile(r"^\[[^\]]*\] \[[^\]]*\] \[(?P<level>[A-Z])\] \[(?P<logger>[^\]]*)\] (?P<text>.*)$")
# Exceptions that only say that something else failed.
WRAPPERS = ("CalledProcessError", "FailedJobsException")


@dataclass(frozen=True)
class Cause:
    """The first line of a failure's cause, and where it was found."""

    line: str
    where: str  # e.g. 'job kind-deferring/instance-6b9tt24d', 'leader process', 'pytest'


@dataclass(frozen=True)
class Command:
    """One command a test ran on the lab, as recorded: what, where, how it ended, what it said."""

    argv: tuple[str, ...]
    node: str
    returncode: int
    stdout: str
    stderr: str

    @property
    def short(self) -> str:
        """The command's first words, to name it in a table."""
        return " ".join(self.argv[:3])


def clean(line: str) -> str:
    """A log line without the tab Toil indents relayed job logs with, nor Toil's log prefix."""
    logged = LOG_LINE.match(line.lstrip("\t"))
    return (logged["text"] if logged else line.lstrip("\t")).rstrip()


def exceptions(lines: Iterable[str]) -> list[str]:
    """The exception line that ends each traceback among these lines, in order."""
    found: list[str] = []
    in_traceback = False
    for raw in lines:
        line = clean(raw)
        if line.startswith(TRACEBACK):
            in_traceback = True
        elif in_traceback and line and not line.startswith((" ", "^", "~")):
            # Frames are indented; Python 3.11 adds ^^^^ and ~~~~ marker lines.
            found.append(line)
            in_traceback = False
    return found


def is_wrapper(line: str) -> bool:
    """True for an exception that only reports another failure."""
    return any(name in line.split(":", 1)[0] for name in WRAPPERS)


def job_logs(lines: Iterable[str]) -> Iterator[tuple[str, list[str]]]:
    """Each failed job's log that the leader relayed, in order: the job's name and its lines."""
    job: str | None = None
    block: list[str] = []
    for line in lines:
        start = JOB_LOG_START.search(line)
        if start is not None:
            job, block = start.group("job"), []
        elif job is not None and JOB_LOG_END in line:
            yield job, block
            job = None
        elif job is not None:
            block.append(line)


def in_text(text: str) -> Cause | None:
    """The cause in one command's output (or any captured text), or None."""
    lines = text.splitlines()
    for job, block in job_logs(lines):
        found = exceptions(block)
        if found:
            return Cause(found[0], f"job {job}")
    own = [line for line in exceptions(lines) if not is_wrapper(line)]
    if own:
        return Cause(own[-1], "leader process")
    return None


def of_commands(commands: Sequence[Command]) -> Cause | None:
    """The cause of a failed test from the commands it ran: the latest failed command's."""
    for command in reversed(commands):
        if command.returncode == 0:
            continue
        found = in_text(command.stdout + "\n" + command.stderr)
        if found is not None:
            return Cause(found.line, f"{found.where}, {command.node}: {command.short}")
        last = [
            line.strip() for line in (command.stdout + "\n" + command.stderr).splitlines() if line.strip()
        ]
        said = last[-1] if last else "(no output)"
        return Cause(f"`{' '.join(command.argv)}` exited {command.returncode}: {said}", command.node)
    return None


def of_pytest(report: str) -> Cause:
    """The cause in pytest's own report of a failure: its last `E   ` line."""
    errors = [line[1:].strip() for line in report.splitlines() if line.startswith("E ")]
    lines = [line for line in report.strip().splitlines() if line.strip()]
    return Cause(errors[-1] if errors else (lines[-1] if lines else "(no report)"), "pytest")
