"""Slurm and Mesos behind one Backend, and how a lab chooses between them (no Docker)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from innode.mesos_daemons import state_argv
from lab import backends as backend
from lab import startup
from lab.cluster import Lab
from lab.config import LabConfig, choose_batch_system
from lab.errors import ConfigError, NotReady
from lab.steps import Steps

from .fakes import IDS, STATE, FakeLeader, FakeRun, http_ok

# What bash says when nothing listens on the master's port (innode.mesos_daemons.state_argv).
REFUSED = "mesos-http-get: /dev/tcp/leader/5050: Connection refused"


def test_get_knows_both_backends_and_refuses_others() -> None:
    assert backend.get("slurm").scheduler == "slurmctld"
    assert backend.get("mesos").scheduler == "mesos-master"
    assert backend.get("mesos").worker_daemon == "mesos-agent"
    with pytest.raises(ConfigError, match="unknown batch system 'pbs'; the lab provides: slurm, mesos"):
        backend.get("pbs")


def test_toil_options_of_each_backend() -> None:
    assert backend.get("slurm").toil_options(auto_deploy=True) == [("--batchSystem", "slurm_autodeploy")]
    assert backend.get("slurm").toil_options(auto_deploy=False) == [("--batchSystem", "slurm")]
    # No core request: Toil 9.6 refuses --defaultCores below 1 (test_workflow.py parses
    # the whole command line with Toil's own parser).
    mesos_options = [("--batchSystem", "mesos"), ("--mesosEndpoint", "leader:5050")]
    assert backend.get("mesos").toil_options(auto_deploy=True) == mesos_options
    assert backend.get("mesos").toil_options(auto_deploy=False) == mesos_options


def test_slurm_pins_a_run_with_the_workers_partition() -> None:
    leader = FakeLeader()
    with backend.get("slurm").pinned(leader, "worker-1", ["worker-1", "worker-2"]) as options:  # type: ignore[arg-type]
        assert options == ["--slurmPartition", "worker-1"]
    assert leader.calls == []


def test_mesos_pins_a_run_by_deactivating_the_other_agents_and_always_reactivates() -> None:
    leader = FakeLeader(http_ok(STATE))
    workers = ["worker-1", "worker-2", "worker-3"]
    daemons = ["python3", "-m", "innode.mesos_daemons"]
    with pytest.raises(RuntimeError), backend.get("mesos").pinned(leader, "worker-2", workers) as options:  # type: ignore[arg-type]
        assert options == []
        assert [call for call in leader.calls if call[:3] == daemons] == [
            [*daemons, "deactivate", "A-S1"],
            [*daemons, "deactivate", "A-S3"],
        ]
        raise RuntimeError("the run failed")
    assert [call for call in leader.calls if call[:3] == daemons][2:] == [
        [*daemons, "activate", "A-S1"],
        [*daemons, "activate", "A-S3"],
    ]


def test_mesos_leader_readiness_needs_an_elected_master() -> None:
    mesos = backend.get("mesos")
    assert mesos.leader_ready(FakeLeader(http_ok(STATE))).ok  # type: ignore[arg-type]
    waiting = mesos.leader_ready(FakeLeader(http_ok({**STATE, "elected_time": None})))  # type: ignore[arg-type]
    assert (waiting.ok, waiting.detail) == (False, "master up, not yet elected")
    refused = "mesos-http-get: line 1: connect: Connection refused\n" + REFUSED
    down = mesos.leader_ready(FakeLeader("", 1, refused))  # type: ignore[arg-type]
    assert (down.ok, down.detail) == (
        False,
        f"the master does not answer on leader:5050: {REFUSED}",
    )
    starting = mesos.leader_ready(FakeLeader("HTTP/1.1 503 Service Unavailable\r\n\r\n"))  # type: ignore[arg-type]
    assert not starting.ok
    assert starting.detail == "the master answered 'HTTP/1.1 503 Service Unavailable', not 200 with a body"
    cut = mesos.leader_ready(FakeLeader(http_ok(STATE)[:-5]))  # type: ignore[arg-type]
    assert not cut.ok and "Expecting" in cut.detail


def test_mesos_worker_states() -> None:
    states = backend.get("mesos").worker_states(FakeLeader(http_ok(STATE)))  # type: ignore[arg-type]
    assert [(s.name, s.state, s.ready) for s in states] == [
        ("worker-1", "deactivated", False),
        ("worker-2", "active", True),
        ("worker-3", "inactive", False),
    ]


def test_mesos_explains_the_cgroups2_refusal_and_missing_libraries() -> None:
    mesos = backend.get("mesos")
    hint = mesos.explain(
        "F1129 mesos-agent: Found cgroups2 mount at an unexpected location '/sys/fs/cgroup/unified'"
    )
    assert "hybrid cgroups" in hint
    missing = mesos.explain("mesos-agent: error while loading shared libraries: libsvn_delta-1.so.1")
    assert "MESOS_EXTRA_PACKAGES" in missing
    assert mesos.explain("all is well") == ""
    assert backend.get("slurm").explain("Found cgroups2 mount at an unexpected location") == ""


def test_mesos_export_writes_the_master_state(tmp_path: Path) -> None:
    backend.get("mesos").export(FakeLeader(http_ok(STATE)), [], tmp_path)  # type: ignore[arg-type]
    assert json.loads((tmp_path / "mesos-master-state.json").read_text()) == STATE


@pytest.mark.parametrize(
    ("env", "chosen", "why"),
    [
        (
            {},
            "slurm",
            "BATCH_SYSTEM=auto and there is no Mesos build "
            "(`make mesos` builds one; MESOS_PACKAGE names one)",
        ),
        ({"MESOS_PACKAGE": "/p/m.deb"}, "mesos", "BATCH_SYSTEM=auto and MESOS_PACKAGE=/p/m.deb is set"),
        ({"BATCH_SYSTEM": "slurm", "MESOS_PACKAGE": "/p/m.deb"}, "slurm", "BATCH_SYSTEM=slurm"),
        (
            {"BATCH_SYSTEM": "mesos", "MESOS_PACKAGE": "m.deb"},
            "mesos",
            "BATCH_SYSTEM=mesos, Mesos from MESOS_PACKAGE=m.deb",
        ),
    ],
)
def test_the_auto_choice(env: dict[str, str], chosen: str, why: str) -> None:
    assert choose_batch_system(LabConfig.from_env(env)) == (chosen, why)


def test_mesos_without_a_package_says_how_to_get_one() -> None:
    with pytest.raises(ConfigError) as error:
        choose_batch_system(LabConfig.from_env({"BATCH_SYSTEM": "mesos"}))
    assert "run `make mesos` once" in str(error.value)
    assert "about 40 to 70 minutes on 2 cores" in str(error.value)
    assert "set MESOS_PACKAGE to a Mesos .deb" in str(error.value)
    assert "Nothing was started" in str(error.value)


def test_extra_packages_are_checked() -> None:
    config = LabConfig.from_env({"MESOS_EXTRA_PACKAGES": "libfoo1, libbar2"})
    assert config.mesos_extra_packages == ("libfoo1", "libbar2")
    with pytest.raises(ConfigError, match="not a distribution package name"):
        LabConfig.from_env({"MESOS_EXTRA_PACKAGES": "libfoo1; rm -rf /"})


class MesosLab(Lab):
    """A lab whose containers say they run Mesos."""

    def running_batch_system(self) -> str | None:
        return "mesos"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BATCH_SYSTEM": "slurm"}, "already runs mesos, and BATCH_SYSTEM=slurm chooses slurm"),
        ({}, "runs mesos: set MESOS_PACKAGE to the Mesos build it was made with"),
    ],
)
def test_a_running_lab_keeps_its_batch_system(env: dict[str, str], message: str) -> None:
    lab = MesosLab(LabConfig.from_env(env))
    with pytest.raises(ConfigError, match=message):
        lab.choose_batch_system()


def test_a_running_mesos_lab_is_rescaled_on_mesos() -> None:
    lab = MesosLab(LabConfig.from_env({"MESOS_PACKAGE": "m.deb"}))
    chosen, why = lab.choose_batch_system()
    assert chosen == "mesos"
    assert why.endswith("lab 'toil-lab' already runs it")


def test_wait_workers_on_mesos_reads_the_masters_agents(docker_with_lab: FakeRun) -> None:
    docker_with_lab.on("docker", "exec", stdout=http_ok(STATE))
    docker_with_lab.on("docker", "logs", stdout="")
    said: list[str] = []
    with pytest.raises(NotReady) as error:
        MesosLab(LabConfig(), say=said.append).wait_workers(3, timeout=0)
    assert said == [
        "1/3 workers ready (waiting for worker-1=deactivated, cpus 0/2, mem 0/2944M, 1 tasks, "
        "worker-3=inactive, cpus 0/0, mem 0/0M, 0 tasks)"
    ]
    assert "waiting for 3 workers to register with mesos-master" in str(error.value)
    assert ["docker", "exec", IDS[1], *state_argv()] in docker_with_lab.argvs


def test_wait_leader_asks_the_master_without_listing_the_lab_again_while_it_answers(
    docker_with_lab: FakeRun,
) -> None:
    docker_with_lab.on("docker", "exec", stdout=http_ok(STATE))
    MesosLab(LabConfig()).wait_leader(timeout=0)
    execs = [argv for argv in docker_with_lab.argvs if argv[:2] == ["docker", "exec"]]
    assert execs == [["docker", "exec", IDS[1], *state_argv()]]
    assert sum(1 for argv in docker_with_lab.argvs if argv[:2] == ["docker", "ps"]) == 1


def test_wait_leader_reports_a_master_that_does_not_answer_with_the_leaders_logs(
    docker_with_lab: FakeRun,
) -> None:
    docker_with_lab.on("docker", "exec", returncode=1, stderr=REFUSED)
    docker_with_lab.on("docker", "logs", stdout="mesos-master: Failed to initialize: boom")
    with pytest.raises(NotReady) as error:
        MesosLab(LabConfig()).wait_leader(timeout=0)
    message = str(error.value)
    assert f"the master does not answer on leader:5050: {REFUSED}" in message
    assert "mesos-master: Failed to initialize: boom" in message


def test_a_slurm_lab_on_a_base_whose_slurm_cannot_run_jobs_is_refused(fake_run: FakeRun) -> None:
    fake_run.on("docker", "info", stdout='{"NCPU": 2, "MemTotal": 25769803776, "Architecture": "x86_64"}')
    fake_run.on("docker", "ps", stdout="")
    lab = Lab(LabConfig.from_env({"BASE_IMAGE": "debian:trixie-slim", "BATCH_SYSTEM": "slurm"}))
    with pytest.raises(ConfigError, match=r"cannot run a Slurm lab: .*clone: Operation not permitted"):
        startup.check(lab, Steps(io.StringIO()))
    assert not [argv for argv in fake_run.argvs if argv[:2] in (["docker", "build"], ["docker", "run"])]
