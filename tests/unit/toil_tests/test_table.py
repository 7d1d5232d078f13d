"""lab/toil_tests/table.py: the table of a run, from junit XML recorded on the lab."""

from __future__ import annotations

from pathlib import Path

from lab.toil_tests import table
from lab.toil_tests.table import Row

from ..fakes import DATA

APPLIANCE_JUNIT = DATA / "toil-tests" / "appliance-junit.xml"


def test_rows_of_the_appliance_run_on_toil_9_6_0() -> None:
    rows = table.read("appliance", APPLIANCE_JUNIT)
    assert [(r.test, r.result) for r in rows] == [
        ("AutoDeploymentTest::testDeferralWithConcurrentEncapsulation", "failed"),
        ("AutoDeploymentTest::testDeferralWithFailureAndEncapsulation", "failed"),
        ("AutoDeploymentTest::testRestart", "passed"),
        ("AutoDeploymentTest::testSplitRootPackages", "passed"),
        ("AutoDeploymentTest::testUserTypesInJobFunctionArgs", "passed"),
    ]
    concurrent, failure, restart = rows[:3]
    # The plugin's properties.
    assert concurrent.cause == "NameError: name 'time' is not defined"
    assert concurrent.where.startswith("job kind-deferring/instance-")
    # Without them: found in the test's captured output, not pytest's CalledProcessError.
    assert failure.cause == "AttributeError: 'JobFunctionWrappingJob' object has no attribute '_config'"
    assert failure.where == "job kind-deferring/instance-rertldgt"
    assert (restart.seconds, restart.cause, restart.bad) == (43.644, "", False)


def junit(tmp_path: Path, cases: str) -> Path:
    path = tmp_path / "mesos.xml"
    path.write_text(f'<testsuites><testsuite name="pytest">{cases}</testsuite></testsuites>')
    return path


def test_skips_errors_and_pytests_own_report(tmp_path: Path) -> None:
    path = junit(
        tmp_path,
        '<testcase classname="toil.test.sort.sortTest.SortTest" name="testAwsMesos" time="0.001">'
        '<skipped type="pytest.skip" message="Set TOIL_AWS_KEYNAME to an AWS-stored SSH key to include '
        'this test.">skipped</skipped></testcase>'
        '<testcase classname="toil.test.batchSystems.batchSystemTest.MesosBatchSystemTest" '
        'name="test_run_jobs" time="15.7"><error message="failed on setup">E   RuntimeError: Cannot find '
        "binary 'mesos-master'. Make sure Mesos is installed</error></testcase>",
    )
    skipped, error = table.read("mesos", path)
    assert skipped == Row(
        "mesos",
        "SortTest::testAwsMesos",
        "skipped",
        0.001,
        "Set TOIL_AWS_KEYNAME to an AWS-stored SSH key to include this test.",
    )
    assert (error.result, error.bad, error.where) == ("error", True, "pytest")
    assert error.cause.startswith("RuntimeError: Cannot find binary 'mesos-master'")


def test_counts() -> None:
    rows = table.read("appliance", APPLIANCE_JUNIT)
    assert table.counts(rows) == "3 passed, 2 failed"
    assert table.counts([]) == "no tests"


def test_render_aligns_the_columns_and_shows_causes_of_failures_only() -> None:
    rows = [
        Row("appliance", "AutoDeploymentTest::testRestart", "passed", 43.6),
        Row("appliance", "AutoDeploymentTest::testDeferral", "failed", 29.2, "NameError: x", "job j"),
        Row("mesos", "SortTest::testAwsMesos", "skipped", 0.0, "Set TOIL_AWS_KEYNAME"),
    ]
    assert table.render(rows).splitlines() == [
        "TEST                                         RESULT    TIME  CAUSE (first line)",
        "appliance: AutoDeploymentTest::testRestart   passed   43.6s",
        "appliance: AutoDeploymentTest::testDeferral  failed   29.2s  NameError: x",
        "mesos: SortTest::testAwsMesos                skipped   0.0s",
    ]
    assert table.render([]) == "no tests ran"


def test_markdown_escapes_pipes_and_gives_skip_reasons() -> None:
    rows = [
        Row("appliance", "T::a", "failed", 1.0, "ValueError: a | b", "job j"),
        Row("mesos", "T::b", "skipped", 0.0, "needs AWS"),
    ]
    assert table.markdown(rows).splitlines()[2:] == [
        "| appliance | T::a | failed | 1.0s | ValueError: a \\| b | job j |",
        "| mesos | T::b | skipped | 0.0s | needs AWS |  |",
    ]
