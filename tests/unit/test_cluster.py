"""lab/cluster.py: nodes found by label, the capacity check, the compose project, readiness."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from lab import docker, startup
from lab.cluster import Lab
from lab.config import LabConfig, project_root
from lab.errors import CommandFailed, NoSuchNode, NotReady

from .fakes import IDS, PS, FakeRun


def test_nodes_are_found_by_label_and_sorted(docker_with_lab: FakeRun) -> None:
    nodes = Lab(LabConfig()).nodes()
    assert [(n.name, n.role, n.state) for n in nodes] == [
        ("leader", "leader", "running"),
        ("worker-2", "worker", "exited"),
        ("worker-10", "worker", "paused"),
    ]
    assert docker_with_lab.argvs == [PS, ["docker", "inspect", *IDS]]


def test_unknown_node_lists_the_labs_nodes(docker_with_lab: FakeRun) -> None:
    with pytest.raises(NoSuchNode) as error:
        Lab(LabConfig()).node("worker-99")
    assert (
        str(error.value) == "lab 'toil-lab' has no node 'worker-99'; its nodes: leader, worker-2, worker-10"
    )


def test_a_lab_that_is_not_up_says_so(fake_run: FakeRun) -> None:
    fake_run.on(*PS, stdout="")
    with pytest.raises(NoSuchNode, match=r"its nodes: none: the lab is not up \(`make lab-up`\)"):
        Lab(LabConfig()).leader()
    assert fake_run.argvs == [PS]


def test_is_up_needs_a_running_worker(docker_with_lab: FakeRun) -> None:
    assert Lab(LabConfig()).is_up() is False  # worker-2 exited, worker-10 paused


def test_limits_beyond_the_host_are_a_warning_that_says_what_it_means() -> None:
    engine = docker.EngineInfo(
        cpus=4, memory_bytes=4096 * 1024 * 1024, architecture="x86_64", server_version="27"
    )
    warning = startup.capacity_warning(3, 2048, engine)
    assert warning.startswith("warning: 3 workers with WORKER_MEMORY=2048M may use up to 7168 MiB")
    assert "more than the Docker host's 4096 MiB: the lab starts" in warning
    assert "jobs that use their whole limit at once would run the host out of memory" in warning
    assert startup.capacity_warning(1, 2048, engine) == ""  # 3072 MiB fits


def test_sixteen_small_workers_start_on_this_host() -> None:
    engine = docker.EngineInfo(cpus=2, memory_bytes=24 * 1024**3, architecture="x86_64", server_version="28")
    assert startup.capacity_warning(16, 1024, engine) == ""
    assert startup.capacity_warning(8, 3072, engine).startswith("warning:")


def test_project_writes_the_workers_file_and_passes_the_variables(tmp_path: Path) -> None:
    shutil.copy(project_root() / "compose.yaml", tmp_path / "compose.yaml")
    config = dataclasses.replace(
        LabConfig(name="lab-a", worker_memory_mb=1024, slots_per_cpu=2, compose_command=("docker-compose",)),
        root=tmp_path,
    )
    project = Lab(config).project(
        workers=2, image="toil-lab/node:toil-9.6.0-abc", cpus=6, batch_system="mesos"
    )
    workers_file = tmp_path / ".lab" / "lab-a" / "workers.yaml"
    assert project.command == ("docker-compose",)
    assert project.project == "lab-a"
    assert project.project_dir == tmp_path
    assert project.files == (tmp_path / "compose.yaml", workers_file)
    assert dict(project.variables) == {
        "LAB_NAME": "lab-a",
        "LAB_IMAGE": "toil-lab/node:toil-9.6.0-abc",
        "LAB_WORKERS": "2",
        "LAB_WORKER_CPUS": "6",
        "LAB_WORKER_MEMORY_MB": "1024",
        "LAB_SLOTS_PER_CPU": "2",
        "LAB_BATCH_SYSTEM": "mesos",
    }
    services = list(json.loads(workers_file.read_text())["services"])
    assert services == ["leader", "worker-1", "worker-2"]  # the leader: its labels


def test_wait_workers_returns_when_all_are_ready(docker_with_lab: FakeRun) -> None:
    docker_with_lab.on("docker", "exec", stdout="worker-1|idle|none\nworker-2|mixed|none\n")
    said: list[str] = []
    Lab(LabConfig(), say=said.append).wait_workers(2, timeout=5)
    assert said == ["2/2 workers ready"]
    assert [
        "docker",
        "exec",
        IDS[1],
        "sinfo",
        "--noheader",
        "--Node",
        "--format=%N|%T|%E",
    ] in docker_with_lab.argvs


def test_wait_workers_timeout_names_the_missing_and_shows_their_logs(docker_with_lab: FakeRun) -> None:
    docker_with_lab.on("docker", "exec", stdout="worker-1|idle|none\nworker-2|down*|Not responding\n")
    docker_with_lab.on("docker", "logs", stdout="slurmd: error: Unable to register\n")
    said: list[str] = []
    with pytest.raises(NotReady) as error:
        Lab(LabConfig(), say=said.append).wait_workers(3, timeout=0)
    message = str(error.value)
    detail = "1/3 workers ready (waiting for worker-2=down*, worker-3=unregistered)"
    assert said == [detail]
    assert message.startswith(
        f"timed out after 0s waiting for 3 workers to register with slurmctld; last seen: {detail}"
    )
    assert "missing workers: worker-2, worker-3" in message
    assert "--- logs of worker-2 (last 30 lines) ---\nslurmd: error: Unable to register" in message
    assert "--- logs of worker-3 (last 30 lines) ---\n(no container)" in message


def test_a_network_docker_keeps_after_the_containers_are_gone_is_a_warning(fake_run: FakeRun) -> None:
    fake_run.on(*PS, stdout="")
    fake_run.on("docker", "compose", "version")
    fake_run.on(
        "docker",
        "compose",
        "--project-name",
        returncode=1,
        stderr="error while removing network: network toil-lab_lab id 1 has active endpoints",
    )
    fake_run.on("docker", "volume", "ls", stdout="")
    said: list[str] = []
    Lab(LabConfig(), say=said.append).clean()
    assert said[0].startswith("warning: Docker kept lab 'toil-lab''s network")
    assert said[-1] == "lab 'toil-lab' is gone, with its volumes"


def test_any_other_compose_failure_is_an_error(fake_run: FakeRun) -> None:
    fake_run.on(*PS, stdout="")
    fake_run.on("docker", "compose", "version")
    fake_run.on("docker", "compose", "--project-name", returncode=1, stderr="no such service")
    with pytest.raises(CommandFailed, match="no such service"):
        Lab(LabConfig(), say=lambda _: None).clean()
