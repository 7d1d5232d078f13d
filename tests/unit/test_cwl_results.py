"""lab/cwl/results.py: cwltest's junit XML and log as rows, causes, the table and the findings,
on testcases recorded from a run of the suite (tests/unit/data/cwl-conformance/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.cwl import results

from .fakes import DATA

RECORDED = DATA / "cwl-conformance"

# A failed job's log as toil-cwl-runner relayed it (recorded on this lab, before the CWL
# layer had `python`): cwltool's error is the cause, not the WorkflowException that ends
# the job's traceback, nor the worker's own lines.
PYTHON_NOT_FOUND = """\
[2026-12-03T11:37:56+0000] [MainThread] [W] [toil.leader] Job failed with exit value 1: 'CWLJob' bwa-mem-tool.cwl kind-CWLJob/instance-rd0yy33h v1
[2026-12-03T11:37:56+0000] [MainThread] [W] [toil.leader] Log from job "kind-CWLJob/instance-rd0yy33h" follows:
=========>
\t[2026-12-03T11:37:55+0000] [MainThread] [I] [toil.worker] ---TOIL WORKER OUTPUT LOG---
\t[2026-12-03T11:37:56+0000] [MainThread] [E] [cwltool] 'python' not found: [Errno 2] No such file or directory: 'python'
\t[2026-12-03T11:37:56+0000] [MainThread] [W] [cwltool] [job bwa-mem-tool.cwl] completed permanentFail
\t[2026-12-03T11:37:56+0000] [MainThread] [C] [toil.worker] Worker crashed with traceback:
\tTraceback (most recent call last):
\t  File "/usr/local/lib/python3.11/dist-packages/toil/cwl/cwltoil.py", line 3370, in run
\t    raise cwl_utils.errors.WorkflowException(status)
\tcwl_utils.errors.WorkflowException: permanentFail
\t
\t[2026-12-03T11:37:56+0000] [MainThread] [E] [toil.worker] Exiting the worker because of a failed job on host leader
<=========
"""  # noqa: E501


@pytest.fixture(scope="module")
def rows() -> dict[str, results.Row]:
    log = (RECORDED / "single_machine.log").read_text()
    found = results.read("single_machine", RECORDED / "single_machine.xml", log)
    return {row.name: row for row in found}


def test_each_recorded_testcase_comes_to_its_result(rows: dict[str, results.Row]) -> None:
    assert {name: row.result for name, row in rows.items()} == {
        "any_input_param": results.PASSED,
        "networkaccess": results.UNSUPPORTED,
        "illegal_symlink": results.FAILED,
        "inputBinding_position_expr": results.FAILED,
        "cwloutput_nolimit": results.NEEDS_CONTAINER,
        "flat_crossproduct_simple_scatter": results.FAILED,
    }
    assert rows["flat_crossproduct_simple_scatter"].seconds == 600.0


def test_a_should_fail_test_that_succeeded_is_a_failure_only_the_log_tells(
    rows: dict[str, results.Row],
) -> None:
    """cwltest writes no <failure> for it (its message is empty): without the log it would pass."""
    assert rows["illegal_symlink"].cause == results.SHOULD_FAIL_CAUSE
    without_log = {r.name: r for r in results.read("single_machine", RECORDED / "single_machine.xml")}
    assert without_log["illegal_symlink"].result == results.PASSED


def test_outputs_that_differ_are_told_by_the_field_that_differs(rows: dict[str, results.Row]) -> None:
    row = rows["inputBinding_position_expr"]
    assert row.cause.startswith("outputs differ from the expected: failed comparison for key 'out'")
    assert row.where == "cwltest"


def test_cwltools_refusal_without_a_container_engine_is_read_from_the_jobs_log(
    rows: dict[str, results.Row],
) -> None:
    row = rows["cwloutput_nolimit"]
    assert row.cause == (
        "cwltool.errors.UnsupportedRequirement: --no-container, but this CommandLineTool has "
        "DockerRequirement under 'requirements'."
    )
    assert row.where == "job kind-CWLJob/instance-5uf8a9j7"


def test_a_timeout_says_so(rows: dict[str, results.Row]) -> None:
    assert rows["flat_crossproduct_simple_scatter"].cause.startswith("timed out (cwltest's --timeout)")


def test_cwltools_error_in_a_jobs_log_is_the_cause_not_the_permanent_fail() -> None:
    found = results.failure_cause("Command '...' returned non-zero exit status 1.", PYTHON_NOT_FOUND)
    assert found.line == "'python' not found: [Errno 2] No such file or directory: 'python'"
    assert found.where == "job kind-CWLJob/instance-rd0yy33h"


def test_without_a_log_the_cause_is_cwltests_message() -> None:
    found = results.failure_cause("Command 'runner x.cwl' returned non-zero exit status 2.", "")
    assert (found.line, found.where) == ("Command 'runner x.cwl' returned non-zero exit status 2.", "cwltest")


def tally(batch_system: str, **outcomes: str) -> results.Tally:
    rows = tuple(
        results.Row(batch_system, name, result, 1.0, "boom" if result == results.FAILED else "")
        for name, result in outcomes.items()
    )
    return results.Tally(batch_system, "lab", rows, 11, 60.0)


def test_a_finding_passed_on_the_baseline_and_failed_on_a_batch_system() -> None:
    tallies = [
        tally("single_machine", a="passed", b="failed", c="passed", d="passed"),
        tally("slurm", a="failed", b="failed", c="passed", d="unsupported"),
        tally("mesos", a="passed", b="passed", c="failed", d="passed"),
    ]
    assert [(r.batch_system, r.name) for r in results.findings(tallies)] == [("slurm", "a"), ("mesos", "c")]


def test_the_table_counts_each_result_and_the_tests_that_need_a_container(
    rows: dict[str, results.Row],
) -> None:
    recorded = results.Tally("single_machine", "toil-lab", tuple(rows.values()), 11, 3150.4)
    table = results.render([recorded])
    header, line = table.splitlines()
    assert header.startswith("BATCH SYSTEM  ") and header.split()[-1] == "TIME"
    assert "NEEDS A CONTAINER ENGINE" in header
    # 1 passed, 3 failed, 1 unsupported, 11 set aside + 1 refused by cwltool, 3150 s.
    assert line.split() == ["single_machine", "toil-lab", "1", "3", "1", "12", "3150s"]
    markdown = results.markdown([recorded])
    assert "| single_machine | toil-lab | 1 | 3 | 1 | 12 | 3150 s |" in markdown
    assert "## Every failure (3)" in markdown and "## Findings: passed on single_machine" in markdown
    assert "| single_machine | cwloutput_nolimit | cwltool.errors.UnsupportedRequirement" in markdown


def test_a_cause_with_a_bar_or_a_newline_keeps_the_markdown_table_whole(tmp_path: Path) -> None:
    row = results.Row("slurm", "t", results.FAILED, 1.0, "a | b\nc", "job x")
    markdown = results.markdown([results.Tally("slurm", "lab", (row,), 0, 1.0)])
    assert "| slurm | t | a \\| b c | job x |" in markdown
