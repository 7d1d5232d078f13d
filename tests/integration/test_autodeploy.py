"""Auto-deployment, proven on the lab: Toil's five autoDeploymentTest scenarios.

In every scenario the user's code exists only on the leader, in a virtualenv made
with --system-site-packages over the image's Toil in the leader's private area
(/home/lab/venvs). The workflows run on `slurm_autodeploy` (innode/slurm_autodeploy.py) on a
Slurm lab and on Toil's own `mesos` on a Mesos lab; both ship that code to the
workers. The negative control (Slurm only) runs the same code on Toil's plain
`slurm` and fails because the workers cannot import it.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab import placement, report
from lab.cluster import Lab
from lab.placement import Placement
from lab.process import Result
from lab.workflow import RunRecord, Virtualenv
from tests.integration.conftest import RESULTS

pytestmark = pytest.mark.integration

USERSCRIPTS = Path(__file__).resolve().parent / "userscripts"
REPORTS = RESULTS / "reports"
QUIET = ["--logLevel", "INFO"]


@pytest.fixture
def venv(lab: Lab, request: pytest.FixtureRequest) -> Iterator[Virtualenv]:
    """A fresh virtualenv on the leader, removed after the test."""
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")
    env = Virtualenv(lab.leader, name).create()
    yield env
    lab.leader.exec(["rm", "-rf", env.path])


def source(name: str) -> str:
    return (USERSCRIPTS / f"{name}.py").read_text()


def result_of(result: Result) -> object:
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, (
        f"no RESULT line; exit {result.returncode}\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    )
    return json.loads(lines[-1].removeprefix("RESULT "))


def evidence(lab: Lab, record: RunRecord, scenario: str) -> list[Placement]:
    """The run's placement records, and its report in test-results/reports."""
    found = placement.of_run(lab.nodes(), record.job_store)
    page = report.render(found, f"{scenario}: {record.workflow}, exit code {record.exit_code}")
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / f"{scenario}.html").write_text(page)
    assert page.count('<rect class="job ') == len(found)
    return found


def processes(found: list[Placement]) -> dict[tuple[str, str, int], list[Placement]]:
    by_process: dict[tuple[str, str, int], list[Placement]] = defaultdict(list)
    for job in sorted(found, key=lambda p: p.sequence):
        by_process[job.process].append(job)
    return by_process


def assert_dag_placement(found: list[Placement], expected: dict[str, list[str]]) -> None:
    """Jobs that share a Wn ran in one worker process, in that order; different Wn, different processes."""
    seen = sorted(tuple(job.name for job in jobs) for jobs in processes(found).values())
    assert seen == sorted(tuple(names) for names in expected.values()), (
        "worker processes and their jobs, in the order they ran them:\n"
        + "\n".join(f"  {process}: {[j.name for j in jobs]}" for process, jobs in processes(found).items())
    )


def assert_code_only_on_leader(lab: Lab, env: Virtualenv, module_path: str) -> None:
    assert lab.leader.exec(["test", "-f", module_path], check=False).returncode == 0
    for worker in lab.workers():
        assert worker.exec(["test", "-e", env.path], check=False).returncode != 0, worker.name


def test_restart_runs_the_fixed_script(lab: Lab, venv: Virtualenv) -> None:
    path = venv.install_module("foo.bar", source("restart"))
    assert_code_only_on_leader(lab, venv, path)
    record, failed = venv.run("foo.bar", ["--retryCount", "0", *QUIET])
    assert failed.returncode != 0
    assert "the job fails until the script is fixed" in failed.stdout + failed.stderr
    first = evidence(lab, record, "restart-1-failing")
    assert [(p.name, p.status) for p in first] == [("job", "failed")]

    venv.install_module("foo.bar", source("restart").replace("FIXED = False", "FIXED = True"))
    again, fixed = venv.run("foo.bar", ["--restart", *QUIET])
    assert fixed.returncode == 0, fixed.stderr[-4000:]
    assert again.job_store == record.job_store
    assert result_of(fixed) == "fixed"
    runs = evidence(lab, again, "restart-2-fixed")
    assert [(p.name, p.status) for p in runs] == [("job", "failed"), ("job", "ok")]
    assert all(p.node.startswith("worker-") for p in runs)


def install_split_packages(venv: Virtualenv) -> list[str]:
    return [
        venv.install_module("toil_lib.foo", source("split_library")),
        venv.install_module("toil_script.bar", source("split_script")),
    ]


def test_split_root_packages_are_deployed(lab: Lab, venv: Virtualenv) -> None:
    for path in install_split_packages(venv):
        assert_code_only_on_leader(lab, venv, path)
    output = f"/data/autodeploy-{uuid.uuid4().hex}.txt"
    for worker in lab.workers():
        assert worker.exec(["test", "-e", output], check=False).returncode != 0
    try:
        # With a 10M default, the library job's 20M disk cannot chain after `job`.
        record, result = venv.run("toil_script.bar", ["--output", output, "--defaultDisk", "10M", *QUIET])
        assert result.returncode == 0, result.stderr[-4000:]
        written_by = lab.leader.read_text(output)
        assert written_by.startswith("worker-"), written_by
        found = evidence(lab, record, "split-root-packages")
        jobs = {p.name: p for p in found}
        assert set(jobs) == {"job", "library_job"}
        assert jobs["library_job"].node == written_by
        assert jobs["library_job"].process != jobs["job"].process
    finally:
        lab.leader.exec(["rm", "-f", output])


@pytest.mark.backends("slurm")  # Toil's mesos always ships the code: no plain variant
def test_negative_control_plain_slurm_cannot_import_the_users_code(lab: Lab, venv: Virtualenv) -> None:
    install_split_packages(venv)
    output = f"/data/autodeploy-{uuid.uuid4().hex}.txt"
    record, result = venv.run(
        "toil_script.bar", ["--output", output, "--retryCount", "0", *QUIET], auto_deploy=False
    )
    assert result.returncode != 0
    assert "ModuleNotFoundError: No module named 'toil_script'" in result.stdout + result.stderr
    assert lab.leader.exec(["test", "-e", output], check=False).returncode != 0
    # The worker failed while loading the job, before any job body ran.
    assert evidence(lab, record, "negative-control-plain-slurm") == []


def test_user_defined_types_keep_their_module(lab: Lab, venv: Virtualenv) -> None:
    venv.install_module("foo.bar", source("user_types"))
    record, result = venv.run("foo.bar", ["--defaultDisk", "10M", *QUIET])
    assert result.returncode == 0, result.stderr[-4000:]
    assert result_of(result) == {"module": "foo.bar", "name": "X", "copy": True}
    found = evidence(lab, record, "user-defined-types")
    assert {p.name for p in found} == {"EncapsulatedJob", "job", "Job"}
    assert all(p.node.startswith("worker-") and p.status == "ok" for p in found)


# The DAG scenarios need Deferring and Follow-on on the same node (Follow-on finds
# Deferring's left-overs in that node's state; Trigger signals Deferring's pid). That
# holds by construction: all their jobs go to `worker-1` (lab.pinned: on Slurm its own
# partition, which holds that one worker; on Mesos the other agents are deactivated,
# so that only worker-1's resources are offered, while the run lasts).
ONE_NODE = "worker-1"


def run_on_one_node(lab: Lab, venv: Virtualenv, script: str, scenario: str) -> tuple[list[Placement], Result]:
    """Deploy a deferral DAG as foo.bar, run it pinned to ONE_NODE without retries; its evidence."""
    venv.install_module("foo.bar", source(script))
    with lab.pinned(ONE_NODE) as pin:
        record, result = venv.run("foo.bar", [*pin, "--retryCount", "0", *QUIET])
    return evidence(lab, record, scenario), result


def test_deferral_with_concurrent_encapsulation(lab: Lab, venv: Virtualenv) -> None:
    found, result = run_on_one_node(
        lab, venv, "deferral_concurrent", "deferral-with-concurrent-encapsulation"
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert result_of(result) == "succeeded"
    assert_dag_placement(
        found,
        {
            "W1": ["root"],
            "W2": ["deferring"],
            "W3": ["EncapsulatedJob", "encapsulated"],
            "W4": ["dummy"],
            "W5": ["dummy"],
            "W6": ["Job", "last"],
        },
    )
    follow_on = next(p for p in found if p.name == "Job")
    assert follow_on.sequence == 0, "Follow-on must be the first job of its worker process"
    assert {p.node for p in found} == {ONE_NODE}
    assert all(p.status == "ok" for p in found)


def test_deferral_with_failure_and_encapsulation(lab: Lab, venv: Virtualenv) -> None:
    found, result = run_on_one_node(lab, venv, "deferral_failure", "deferral-with-failure-and-encapsulation")
    outcome = result_of(result)
    assert isinstance(outcome, dict)
    assert outcome["failed_jobs"] == 2, outcome  # Root and Deferring
    assert "'root'" in outcome["failure"] and "'deferring'" in outcome["failure"], outcome
    assert outcome["deferred_file_exists"] is False, "the deferred function did not run"
    assert_dag_placement(
        found,
        {
            "W1": ["root"],
            "W2": ["deferring"],
            "W3": ["EncapsulatedJob", "encapsulated"],
            "W4": ["dummy"],
            "W5": ["dummy"],
            "W6": ["trigger"],
            "W7": ["Job"],
        },
    )
    jobs = {p.name: p for p in found}
    assert jobs["deferring"].status == "unfinished", "Deferring's worker should have been killed"
    assert jobs["Job"].sequence == 0, "Follow-on must be the first job of a fresh worker process"
    assert jobs["Job"].start > jobs["trigger"].end  # type: ignore[operator]
    assert {p.node for p in found} == {ONE_NODE}
