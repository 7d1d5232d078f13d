"""The short table of a `lab toil-tests` run, read from pytest's junit XML files.

One row per test: its name, result, time and, for a failure, the first line of its real
cause. The appliance plugin writes that cause into the junit XML as the testcase's `cause`
and `cause_from` properties (it knows which command failed); for other tests it is found
in what junit holds of the test (`-o junit_logging=all`: its output and logs), else in
pytest's own report.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lab.toil_tests import cause

PASSED, FAILED, ERROR, SKIPPED = "passed", "failed", "error", "skipped"
# junit properties the appliance plugin writes.
CAUSE_PROPERTY = "cause"
CAUSE_FROM_PROPERTY = "cause_from"


@dataclass(frozen=True)
class Row:
    """One test's line in the table."""

    family: str
    test: str  # Class::method
    result: str  # passed, failed, error, skipped
    seconds: float
    cause: str = ""  # failures: the first line of the cause; skips: pytest's reason
    where: str = ""  # where the cause was found

    @property
    def bad(self) -> bool:
        """True for a failure or an error."""
        return self.result in (FAILED, ERROR)


def _text(*elements: ElementTree.Element | None) -> str:
    return "\n".join(element.text or "" for element in elements if element is not None)


def row_of(family: str, case: ElementTree.Element) -> Row:
    """A testcase element of junit XML as a row."""
    test = f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name', '')}".lstrip(":")
    seconds = float(case.get("time") or 0)
    properties = {p.get("name"): p.get("value") or "" for p in case.iter("property")}
    bad = case.find("failure")
    if bad is None:
        bad = case.find("error")
    if bad is not None:
        result = FAILED if bad.tag == "failure" else ERROR
        if properties.get(CAUSE_PROPERTY):
            return Row(
                family,
                test,
                result,
                seconds,
                properties[CAUSE_PROPERTY],
                properties.get(CAUSE_FROM_PROPERTY, ""),
            )
        report = _text(bad) or bad.get("message", "")
        captured = _text(case.find("system-out"), case.find("system-err"))
        found = cause.in_text(captured) or cause.in_text(report) or cause.of_pytest(report)
        return Row(family, test, result, seconds, found.line, found.where)
    skipped = case.find("skipped")
    if skipped is not None:
        return Row(family, test, SKIPPED, seconds, skipped.get("message", ""))
    return Row(family, test, PASSED, seconds)


def read(family: str, junit: Path) -> list[Row]:
    """The rows of one junit XML file."""
    # An interrupted run leaves a testcase without a name: no test's.
    return [row_of(family, case) for case in ElementTree.parse(junit).iter("testcase") if case.get("name")]


def counts(rows: Iterable[Row]) -> str:
    """`3 passed, 2 failed, 2 skipped`: the results that occur, in a fixed order."""
    seen = Counter(row.result for row in rows)
    return ", ".join(f"{seen[r]} {r}" for r in (PASSED, FAILED, ERROR, SKIPPED) if seen[r]) or "no tests"


def render(rows: Sequence[Row]) -> str:
    """The table as aligned text for a terminal: test, result, time, and a failure's cause."""
    if not rows:
        return "no tests ran"
    header = ("TEST", "RESULT", "TIME", "CAUSE (first line)")
    lines = [(f"{r.family}: {r.test}", r.result, f"{r.seconds:.1f}s", r.cause if r.bad else "") for r in rows]
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(3)]
    return "\n".join(
        f"{test:<{widths[0]}}  {result:<{widths[1]}}  {time:>{widths[2]}}  {why}".rstrip()
        for test, result, time, why in [header, *lines]
    )


def markdown(rows: Sequence[Row]) -> str:
    """The table in Markdown, with where each cause was found."""
    out = [
        "| family | test | result | time | first line of the cause | found in |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        why = r.cause if r.bad else (r.cause if r.result == SKIPPED else "")
        cells = [r.family, r.test, r.result, f"{r.seconds:.1f}s", why, r.where if r.bad else ""]
        out.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    return "\n".join(out) + "\n"
