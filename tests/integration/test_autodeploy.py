"""Auto-deployment, proven on the lab: Toil's five autoDeploymentTest scenarios.

Every job with a body of its own notes where it ran, in its own code (userscripts/observed.py,
deployed with the script); each scenario holds the lab's placement records against those
accounts, job by job, so that its placement claims rest on what the jobs saw themselves.

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

from lab import observations, placement, report
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
    env = Virtualenv(lab.leader(), name).create()
    yield env
    lab.leader().exec(["rm", "-rf", env.path])


def source(name: str) -> str:
    return (USERSCRIPTS / f"{name}.py").read_text()


def result_of(result: Result) -> object:
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, (
        f"no RESULT line; exit {result.returncode}\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    )
    return json.loads(lines[-1].removeprefix("RESULT "))


def install_observer(venv: Virtualenv, *packages: str) -> None:
    """Put observed.py beside the user script in each root package, so Toil deploys it too."""
    for package in packages:
        venv.install_module(f"{package}.observed", source("observed"))


def evidence(
    lab: Lab, record: RunRecord, scenario: str, not_jobs: tuple[str, ...] = ()
) -> tuple[list[Placement], list[observations.Observed]]:
    """The run's placement records, held against what its jobs observed of themselves; its report."""
    found = placement.of_run(lab.nodes(), record.job_store)
    seen = observations.read(lab.leader(), record.job_store)
    page = report.render(found, f"{scenario}: {record.workflow}, exit code {record.exit_code}")
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / f"{scenario}.html").write_text(page)
    assert page.count('<rect class="job ') == len(found)
    containers = {node.name: node.container_id for node in lab.nodes()}
    problems = observations.disagreements(found, seen, containers, not_jobs)
    assert not problems, "\n".join(problems)
    return found, seen


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
    assert lab.leader().exec(["test", "-f", module_path], check=False).returncode == 0
    for worker in lab.workers():
        assert worker.exec(["test", "-e", env.path], check=False).returncode != 0, worker.name


def test_restart_runs_the_fixed_script(lab: Lab, venv: Virtualenv) -> None:
    install_observer(venv, "foo")
    path = venv.install_module("foo.bar", source("restart"))
    assert_code_only_on_leader(lab, venv, path)
    record, failed = venv.run("foo.bar", ["--retryCount", "0", *QUIET])
    assert failed.returncode != 0
    assert "the job fails until the script is fixed" in failed.stdout + failed.stderr
    first, seen = evidence(lab, record, "restart-1-failing")
    assert [(p.name, p.status) for p in first] == [("job", "failed")]
    assert [(o.name, o.end) for o in seen] == [("job", None)]  # its body raised

    venv.install_module("foo.bar", source("restart").replace("FIXED = False", "FIXED = True"))
    again, fixed = venv.run("foo.bar", ["--restart", *QUIET])
    assert fixed.returncode == 0, fixed.stderr[-4000:]
    assert again.job_store == record.job_store
    assert result_of(fixed) == "fixed"
    runs, seen = evidence(lab, again, "restart-2-fixed")
    assert [(p.name, p.status) for p in runs] == [("job", "failed"), ("job", "ok")]
    assert len(seen) == 2 and seen[1].end is not None
    assert all(o.host.startswith("worker-") for o in seen)


def install_split_packages(venv: Virtualenv) -> list[str]:
    install_observer(venv, "toil_lib", "toil_script")
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
        written_by = lab.leader().read_text(output)
        assert written_by.startswith("worker-"), written_by
        found, seen = evidence(lab, record, "split-root-packages")
        assert {p.name for p in found} == {"job", "library_job"}
        jobs = {o.name: o for o in seen}
        assert set(jobs) == {"job", "library_job"}
        assert jobs["library_job"].host == written_by
        assert jobs["library_job"].process != jobs["job"].process
    finally:
        lab.leader().exec(["rm", "-f", output])


@pytest.mark.backends("slurm")  # Toil's mesos always ships the code: no plain variant
def test_negative_control_plain_slurm_cannot_import_the_users_code(lab: Lab, venv: Virtualenv) -> None:
    install_split_packages(venv)
    output = f"/data/autodeploy-{uuid.uuid4().hex}.txt"
    record, result = venv.run(
        "toil_script.bar", ["--output", output, "--retryCount", "0", *QUIET], auto_deploy=False
    )
    assert result.returncode != 0
    assert "ModuleNotFoundError: No module named 'toil_script'" in result.stdout + result.stderr
    assert lab.leader().exec(["test", "-e", output], check=False).returncode != 0
    # The worker failed while loading the job, before any job body ran.
    assert evidence(lab, record, "negative-control-plain-slurm") == ([], [])


def test_user_defined_types_keep_their_module(lab: Lab, venv: Virtualenv) -> None:
    install_observer(venv, "foo")
    venv.install_module("foo.bar", source("user_types"))
    record, result = venv.run("foo.bar", ["--defaultDisk", "10M", *QUIET])
    assert result.returncode == 0, result.stderr[-4000:]
    assert result_of(result) == {"module": "foo.bar", "name": "X", "copy": True}
    found, seen = evidence(lab, record, "user-defined-types")
    assert {p.name for p in found} == {"EncapsulatedJob", "job", "Job"}
    assert all(p.node.startswith("worker-") and p.status == "ok" for p in found)
    assert [(o.name, o.host.startswith("worker-")) for o in seen] == [("job", True)]


# The DAG scenarios need Deferring and Follow-on on the same node (Follow-on finds
# Deferring's left-overs in that node's state; Trigger signals Deferring's pid). That
# holds by construction: all their jobs go to `worker-1` (lab.pinned: on Slurm its own
# partition, which holds that one worker; on Mesos the other agents are deactivated,
# so that only worker-1's resources are offered, while the run lasts).
ONE_NODE = "worker-1"


def run_on_one_node(
    lab: Lab, venv: Virtualenv, script: str, scenario: str
) -> tuple[list[Placement], list[observations.Observed], Result]:
    """Deploy a deferral DAG as foo.bar, run it pinned to ONE_NODE without retries; its evidence,
    checked job by job against what the jobs observed (the deferred function is no job of its own)."""
    install_observer(venv, "foo")
    venv.install_module("foo.bar", source(script))
    with lab.pinned(ONE_NODE) as pin:
        record, result = venv.run("foo.bar", [*pin, "--retryCount", "0", *QUIET])
    found, seen = evidence(lab, record, scenario, ("deferred",))
    return found, seen, result


def observed_processes(seen: list[observations.Observed], expected: dict[str, list[str]]) -> None:
    """The jobs' own accounts alone show the DAG's worker processes: same Wn, same process,
    different Wn, different processes (for each Wn that runs a job body of the user's)."""
    by_name: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    for one in seen:
        by_name[one.name].append(one.process)
    processes: list[tuple[str, str, int]] = []
    for names in expected.values():
        mine = [name for name in names if name in by_name]
        assert mine, f"no job of {names} observed itself"
        shared = set.intersection(*(set(by_name[name]) for name in mine))
        assert shared, f"{mine} should have shared one worker process; they saw {[by_name[n] for n in mine]}"
        free = [p for p in sorted(shared) if p not in processes]
        assert free, f"{names} ran in a process another Wn used too"
        processes.append(free[0])
    assert len(set(processes)) == len(expected), "each Wn is a worker process of its own"


def test_deferral_with_concurrent_encapsulation(lab: Lab, venv: Virtualenv) -> None:
    found, seen, result = run_on_one_node(
        lab, venv, "deferral_concurrent", "deferral-with-concurrent-encapsulation"
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert result_of(result) == "succeeded"
    dag = {
        "W1": ["root"],
        "W2": ["deferring"],
        "W3": ["EncapsulatedJob", "encapsulated"],
        "W4": ["dummy"],
        "W5": ["dummy"],
        "W6": ["Job", "last"],
    }
    assert_dag_placement(found, dag)
    observed_processes(seen, dag)
    follow_on = next(p for p in found if p.name == "Job")
    assert follow_on.sequence == 0, "Follow-on must be the first job of its worker process"
    assert {p.node for p in found} == {o.host for o in seen} == {ONE_NODE}
    assert all(p.status == "ok" for p in found)
    assert all(o.end is not None for o in seen)


def test_deferral_with_failure_and_encapsulation(lab: Lab, venv: Virtualenv) -> None:
    found, seen, result = run_on_one_node(
        lab, venv, "deferral_failure", "deferral-with-failure-and-encapsulation"
    )
    outcome = result_of(result)
    assert isinstance(outcome, dict)
    assert outcome["failed_jobs"] == 2, outcome  # Root and Deferring
    assert "'root'" in outcome["failure"] and "'deferring'" in outcome["failure"], outcome
    assert outcome["deferred_file_exists"] is False, "the deferred function did not run"
    dag = {
        "W1": ["root"],
        "W2": ["deferring"],
        "W3": ["EncapsulatedJob", "encapsulated"],
        "W4": ["dummy"],
        "W5": ["dummy"],
        "W6": ["trigger"],
        "W7": ["Job"],  # Follow-on: a job of Toil's own, with no body of the user's to observe itself
    }
    assert_dag_placement(found, dag)
    observed_processes(seen, {w: names for w, names in dag.items() if w != "W7"})
    jobs = {p.name: p for p in found}
    own = {o.name: o for o in seen}
    assert jobs["deferring"].status == "unfinished", "Deferring's worker should have been killed"
    assert own["deferring"].end is None, "Deferring saw its body start and never end"
    assert jobs["Job"].sequence == 0, "Follow-on must be the first job of a fresh worker process"
    # The deferred function ran on the node after Deferring's worker died (Trigger waited for
    # that), in a worker process of this run other than Deferring's: whichever found the dead
    # worker's left-overs first (Trigger's as it ends, or Follow-on's as it starts).
    assert own["trigger"].end is not None and own["deferred"].start > own["trigger"].end
    assert own["deferred"].pid != own["deferring"].pid
    assert {p.node for p in found} == {o.host for o in seen} == {ONE_NODE}
