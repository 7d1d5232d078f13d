"""lab/toil_tests/cause.py: the first line of a failure's real cause, from recorded Toil output."""

from __future__ import annotations

from lab.toil_tests import cause
from lab.toil_tests.cause import Cause, Command

from ..fakes import DATA

RECORDED = DATA / "toil-tests"


def recorded(name: str) -> str:
    return (RECORDED / name).read_text()


def test_the_first_failed_jobs_exception_not_the_leaders_failed_jobs_count() -> None:
    # testDeferralWithConcurrentEncapsulation on Toil 9.6.0: its script uses `time` unimported.
    found = cause.in_text(recorded("deferral-concurrent.log"))
    assert found == Cause("NameError: name 'time' is not defined", "job kind-deferring/instance-6b9tt24d")


def test_a_job_log_that_ends_well_is_passed_over() -> None:
    # The first relayed log (JobFunctionWrappingJob) has no traceback; the cause is in the next.
    text = recorded("deferral-failure.log")
    assert text.index('Log from job "JobFunctionWrappingJob"') < text.index("AttributeError")
    found = cause.in_text(text)
    assert found == Cause(
        "AttributeError: 'JobFunctionWrappingJob' object has no attribute '_config'",
        "job kind-deferring/instance-rertldgt",
    )


def test_without_a_job_log_the_scripts_own_last_exception() -> None:
    text = "\n".join(
        line for line in recorded("deferral-failure.log").splitlines() if "Log from job" not in line
    )
    found = cause.in_text(text)
    assert found == Cause("NameError: name 'FailedJobsException' is not defined", "leader process")


def test_wrappers_are_not_causes() -> None:
    text = "Traceback (most recent call last):\n  File 'x'\nsubprocess.CalledProcessError: Command 'x' died\n"
    assert cause.in_text(text) is None
    assert cause.is_wrapper("toil.exceptions.FailedJobsException: 3 failed jobs")
    assert not cause.is_wrapper("NameError: name 'FailedJobsException' is not defined")


def test_exceptions_skip_frames_and_311_markers() -> None:
    lines = [
        "\t[2026-12-01T21:59:56+0000] [MainThread] [C] [toil.worker] Worker crashed with traceback:",
        "\tTraceback (most recent call last):",
        '\t  File "/x/bar.py", line 30, in deferring',
        "\t    timeout = time.time() + 10",
        "\t              ^^^^",
        "\tNameError: name 'time' is not defined",
    ]
    assert cause.exceptions(lines) == ["NameError: name 'time' is not defined"]


def test_of_commands_takes_the_latest_failed_command() -> None:
    expected_failure = Command(
        ("venv/bin/python", "-m", "foo.bar"), "leader", 1, "", recorded("deferral-concurrent.log")
    )
    ok = Command(("mkdir", "-p", "venv"), "leader", 0, "", "")
    last = Command(
        ("venv/bin/python", "-m", "foo.bar", "--restart"), "leader", 1, "", recorded("deferral-failure.log")
    )
    found = cause.of_commands([expected_failure, ok, last])
    assert found is not None
    assert found.line.startswith("AttributeError: 'JobFunctionWrappingJob'")
    assert found.where == "job kind-deferring/instance-rertldgt, leader: venv/bin/python -m foo.bar"


def test_a_failed_command_without_traceback_gives_its_last_words() -> None:
    quiet = Command(("test", "-f", "/data/foo.txt"), "worker-1", 1, "", "")
    assert cause.of_commands([quiet]) == Cause("`test -f /data/foo.txt` exited 1: (no output)", "worker-1")
    said = Command(
        ("virtualenv", "--python", "python3.10", "venv"),
        "leader",
        1,
        "",
        "RuntimeError: failed to find interpreter for python3.10\n",
    )
    found = cause.of_commands([said])
    assert found == Cause(
        "`virtualenv --python python3.10 venv` exited 1: "
        "RuntimeError: failed to find interpreter for python3.10",
        "leader",
    )


def test_no_failed_command_no_cause() -> None:
    assert cause.of_commands([Command(("true",), "leader", 0, "", "")]) is None


def test_of_pytest_takes_the_last_error_line() -> None:
    report = ">   self.assertRaises(x)\nE   AssertionError: CalledProcessError not raised\n"
    assert cause.of_pytest(report) == Cause("AssertionError: CalledProcessError not raised", "pytest")
    assert cause.of_pytest("") == Cause("(no report)", "pytest")
