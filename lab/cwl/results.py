"""What a CWL conformance run came to: cwltest's junit XML as rows, causes, tables and findings.

cwltest writes one testcase per test: `file` is the test's id (short name), `name` its doc;
a `failure` child is a failed test (its message: the runner's exit, "Test timed out", or
the output comparison that failed), a `skipped` child an unsupported optional feature
(the runner exited 33). With `--junit-verbose` the runner's stderr (Toil's log, the failed
jobs' logs relayed in it) is the testcase's system-err.

A failure's first-line cause is found in that log, in this order: the first error cwltool
logged inside a failed job's relayed log (`[E] [cwltool] 'python' not found`), else the
exception that ended the job's traceback (not WorkflowException: permanentFail, which only
says the tool failed), else the leader's own last traceback or error line; for a run that
exited 0, cwltest's own verdict (outputs that differ, a success where a failure was due).

A finding is a test that passed on the baseline (`single_machine`) and failed on a batch
system: the same Toil, the same nodes, only the batch system differs.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lab.toil_tests import cause

PASSED, FAILED, UNSUPPORTED = "passed", "failed", "unsupported"
NEEDS_CONTAINER = "needs a container engine"
BASELINE = "single_machine"
# The levels of Toil's log lines (lab/toil_tests/cause.py LOG_LINE) that are errors.
ERROR_LEVELS = ("E", "C")
# Error lines that only say that a job failed, not why.
ONLY_SAYS_FAILED = (
    "Exiting the worker because of a failed job",
    "Worker crashed with traceback",
    "Got exit code",
    "Failed job accessed files",
)
QUIET_EXCEPTIONS = ("WorkflowException: permanentFail",)
TIMED_OUT = "Test timed out"
LOG_FAILED = re.compile(r"^Test (?P<number>\d+) (failed|timed out): ")
SHOULD_HAVE_FAILED = "Returned zero but it should be non-zero"
SHOULD_FAIL_CAUSE = "the runner succeeded where the test expects a failure (should_fail)"
# cwltool's own refusal to run a tool that requires a container without one: a test the
# suite did not tag `docker` that needs a container engine all the same.
NEEDS_CONTAINER_CAUSE = "--no-container, but this CommandLineTool has DockerRequirement under 'requirements'"


@dataclass(frozen=True)
class Row:
    """One conformance test on one batch system."""

    batch_system: str
    name: str  # the test's id
    result: str  # passed, failed, unsupported, needs a container engine
    seconds: float
    cause: str = ""  # a failure's first-line cause
    where: str = ""  # where the cause was found: 'job NAME', 'leader', 'cwltest'


def read(batch_system: str, junit: Path, log: str = "") -> list[Row]:
    """The rows of cwltest's junit XML, with the failures that only cwltest's log (`log`) tells."""
    failed = failed_in_log(log)
    rows = []
    for case in ElementTree.parse(junit).iter("testcase"):
        row = row_of(batch_system, case)
        number = int(case.get("url", "#0").rsplit("#", 1)[-1] or 0)
        if row.result == PASSED and number in failed:
            # cwltest writes no <failure> for a failure without a message: a test that should
            # fail and did not (`Returned zero but it should be non-zero`).
            row = Row(batch_system, row.name, FAILED, row.seconds, log_cause(failed[number]), "cwltest")
        rows.append(row)
    return rows


def failed_in_log(log: str) -> dict[int, str]:
    """The tests cwltest's log says failed: number -> the log's reason line.

    cwltest logs `Test N failed: COMMAND`, the test's doc, then why (`Returned non-zero`,
    `Returned zero but it should be non-zero`, `Compare failure ...`).
    """
    lines = log.splitlines()
    found: dict[int, str] = {}
    for index, line in enumerate(lines):
        matched = LOG_FAILED.match(line)
        if matched:
            found[int(matched["number"])] = lines[index + 2].strip() if index + 2 < len(lines) else ""
    return found


def log_cause(reason: str) -> str:
    """A failure that only the log tells, in the table's words."""
    if reason == SHOULD_HAVE_FAILED:
        return SHOULD_FAIL_CAUSE
    return reason or "cwltest's log says it failed"


def row_of(batch_system: str, case: ElementTree.Element) -> Row:
    """One testcase as a row."""
    name = case.get("file") or case.get("name") or "?"
    seconds = float(case.get("time") or 0)
    failure = case.find("failure")
    if failure is not None:
        message = failure.get("message") or failure.text or ""
        log = _text(case.find("system-err")) + "\n" + _text(case.find("system-out"))
        found = failure_cause(message, log)
        result = NEEDS_CONTAINER if NEEDS_CONTAINER_CAUSE in found.line else FAILED
        return Row(batch_system, name, result, seconds, found.line, found.where)
    if case.find("skipped") is not None:
        return Row(batch_system, name, UNSUPPORTED, seconds)
    return Row(batch_system, name, PASSED, seconds)


def _text(element: ElementTree.Element | None) -> str:
    return (element.text or "") if element is not None else ""


def failure_cause(message: str, log: str) -> cause.Cause:
    """The first line of a failed test's cause, from cwltest's message and the runner's log."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    if first.startswith("expected:"):
        caused = [line for line in message.splitlines() if line.startswith("caused by:")]
        said = caused[-1].removeprefix("caused by: ").splitlines()[0] if caused else "see the junit XML"
        return cause.Cause(f"outputs differ from the expected: {said}", "cwltest")
    if not first:
        return cause.Cause(SHOULD_FAIL_CAUSE, "cwltest")
    found = in_log(log)
    if first == TIMED_OUT:
        return cause.Cause(
            f"timed out (cwltest's --timeout){'; last: ' + found.line if found else ''}", "cwltest"
        )
    return found or cause.Cause(first, "cwltest")


def in_log(log: str) -> cause.Cause | None:
    """The cause in toil-cwl-runner's log: a failed job's first, else the leader's."""
    lines = log.splitlines()
    for job, block in cause.job_logs(lines):
        found = _block_cause(block)
        if found:
            return cause.Cause(found, f"job {job}")
    own = [line for line in cause.exceptions(lines) if not cause.is_wrapper(line) and not _quiet(line)]
    if own:
        return cause.Cause(own[-1], "leader")
    errors = _errors(lines)
    return cause.Cause(errors[-1], "leader") if errors else None


def _block_cause(block: Sequence[str]) -> str | None:
    """A failed job's log: cwltool's first error, else the first telling exception."""
    cwltool = [text for logger, text in _logged_errors(block) if logger.startswith("cwltool")]
    if cwltool:
        return cwltool[0]
    telling = [line for line in cause.exceptions(block) if not _quiet(line)]
    if telling:
        return telling[0]
    errors = _errors(block)
    return errors[0] if errors else None


def _logged_errors(lines: Iterable[str]) -> list[tuple[str, str]]:
    """(logger, message) of every error or critical line in Toil's log format."""
    found = []
    for line in lines:
        matched = cause.LOG_LINE.match(line.lstrip("\t"))
        if (
            matched
            and matched["level"] in ERROR_LEVELS
            and not any(quiet in matched["text"] for quiet in ONLY_SAYS_FAILED)
        ):
            found.append((matched["logger"], matched["text"].strip()))
    return found


def _errors(lines: Iterable[str]) -> list[str]:
    return [text for _logger, text in _logged_errors(lines)]


def _quiet(line: str) -> bool:
    return any(quiet in line for quiet in QUIET_EXCEPTIONS)


# --- Tables ----------------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    """One batch system's line of the table."""

    batch_system: str
    lab: str
    rows: tuple[Row, ...]
    set_aside: int  # tests set aside before the run: tagged as needing a container engine
    seconds: float  # the whole cwltest run, as timed on the host

    def count(self, result: str) -> int:
        """How many tests came to `result`."""
        return Counter(row.result for row in self.rows)[result]

    @property
    def needs_container(self) -> int:
        """Tests set aside, and tests cwltool refused to run without a container engine."""
        return self.set_aside + self.count(NEEDS_CONTAINER)


def findings(tallies: Sequence[Tally]) -> list[Row]:
    """The tests that passed on the baseline and failed on a batch system (its rows)."""
    baseline = {
        row.name for t in tallies if t.batch_system == BASELINE for row in t.rows if row.result == PASSED
    }
    return [
        row
        for t in tallies
        if t.batch_system != BASELINE
        for row in t.rows
        if row.result == FAILED and row.name in baseline
    ]


def render(tallies: Sequence[Tally]) -> str:
    """The table as aligned text: one line per batch system."""
    header = (
        "BATCH SYSTEM",
        "LAB",
        PASSED.upper(),
        FAILED.upper(),
        UNSUPPORTED.upper(),
        NEEDS_CONTAINER.upper(),
        "TIME",
    )
    lines = [header] + [
        (
            t.batch_system,
            t.lab,
            str(t.count(PASSED)),
            str(t.count(FAILED)),
            str(t.count(UNSUPPORTED)),
            str(t.needs_container),
            f"{t.seconds:.0f}s",
        )
        for t in tallies
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() for line in lines
    )


def render_rows(rows: Sequence[Row]) -> str:
    """Failed tests as aligned text: batch system, test, cause (where)."""
    if not rows:
        return "(none)"
    width = max(len(row.batch_system) for row in rows)
    name_width = max(len(row.name) for row in rows)
    return "\n".join(
        f"{row.batch_system:<{width}}  {row.name:<{name_width}}  {row.cause} ({row.where})" for row in rows
    )


def markdown(tallies: Sequence[Tally]) -> str:
    """The table, the findings and every failure, in Markdown (summary.md)."""
    out = [
        "| batch system | lab | passed | failed | unsupported | needs a container engine | time |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for t in tallies:
        out.append(
            f"| {t.batch_system} | {t.lab} | {t.count(PASSED)} | {t.count(FAILED)} | {t.count(UNSUPPORTED)} "
            f"| {t.needs_container} | {t.seconds:.0f} s |"
        )
    found = findings(tallies)
    out += ["", f"## Findings: passed on {BASELINE}, failed on a batch system ({len(found)})", ""]
    out += _failure_table(found) if found else ["None."]
    failed = [row for t in tallies for row in t.rows if row.result == FAILED]
    out += ["", f"## Every failure ({len(failed)})", ""]
    out += _failure_table(failed) if failed else ["None."]
    refused = [row for t in tallies for row in t.rows if row.result == NEEDS_CONTAINER]
    out += ["", f"## Not tagged `docker`, refused by cwltool without a container engine ({len(refused)})", ""]
    out += _failure_table(refused) if refused else ["None."]
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _failure_table(rows: Sequence[Row]) -> list[str]:
    lines = ["| batch system | test | first line of the cause | found in |", "| --- | --- | --- | --- |"]
    lines += [f"| {r.batch_system} | {r.name} | {_cell(r.cause)} | {_cell(r.where)} |" for r in rows]
    return lines
