"""lab/toil_tests/mesos_family.py: Toil's Mesos tests run in a worker, as the lab user, from its Toil."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.config import LabConfig
from lab.errors import LabError
from lab.node import Node
from lab.toil_tests import in_node, mesos_family

from ..fakes import FakeRun

SITE = "/usr/local/lib/python3.11/dist-packages"
FACTS = {"version": "9.6.0-6793fc7f", "site": SITE, "digest": "d", "python": "python3.11", "executable": "x"}


class TwoNodeLab:
    def __init__(self) -> None:
        self.config = LabConfig(name="toilt")
        self.nodes = {
            "leader": Node("leader", "leader", "id-leader", "l", "running", "healthy", "mesos"),
            "worker-3": Node("worker-3", "worker", "id-w3", "w3", "running", "healthy", "mesos"),
        }

    def node(self, name: str) -> Node:
        return self.nodes[name]


def test_pytest_runs_in_the_worker_as_lab_from_toils_installed_package(
    fake_run: FakeRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_run.on(
        "docker", "exec", "id-w3", "python3", "-m", "innode.toil_facts", "facts", stdout=json.dumps(FACTS)
    )
    fake_run.on("docker", "exec", "--user", "lab", "id-w3", "python3", "-m", "innode.toil_facts", "stop")
    fake_run.on("docker", "exec", "--user", "lab", "id-w3", "sh", "-c", 'rm -rf "$1" && mkdir -p "$1"')
    fake_run.on("docker", "exec", "--user", "lab", "--workdir", SITE, stdout="19 passed\n", returncode=1)
    fake_run.on("docker", "exec", "id-w3", "test", "-f")
    fake_run.on("docker", "cp")
    said: list[str] = []
    outcome = mesos_family.run(TwoNodeLab(), "worker-3", ["-x"], tmp_path, said.append)  # type: ignore[arg-type]
    assert (outcome.returncode, outcome.junit, outcome.log) == (
        1,
        tmp_path / "mesos.xml",
        tmp_path / "mesos.log",
    )
    pytest_argv = next(argv for argv in fake_run.argvs if "--workdir" in argv)
    assert pytest_argv[:9] == [
        "docker", "exec", "--user", "lab", "--workdir", SITE, "--env", "HOME=/home/lab", "id-w3",
    ]  # fmt: skip
    assert pytest_argv[9:14] == ["sh", "-c", in_node.with_pidfile("x")[2], "/tmp/toil-tests.pid", "python3"]
    assert pytest_argv[14:16] == ["-m", "pytest"]
    assert "--junitxml=/tmp/toil-tests/mesos.xml" in pytest_argv and pytest_argv[-1] == "-x"
    stops = [argv for argv in fake_run.argvs if argv[-2:] == ["stop", "/tmp/toil-tests.pid"]]
    assert len(stops) == 2  # before (an earlier run's leftovers) and after, always
    assert fake_run.argvs[-1] == [
        "docker",
        "cp",
        "id-w3:/tmp/toil-tests/mesos.xml",
        str(tmp_path / "mesos.xml"),
    ]
    assert "19 passed" in capsys.readouterr().out and outcome.log.read_text().endswith("19 passed\n")
    assert "pytest in worker-3 as lab" in said[0]


def test_not_on_the_leader(fake_run: FakeRun, tmp_path: Path) -> None:
    with pytest.raises(LabError, match="cannot run on the leader: its mesos-master holds port 5050"):
        mesos_family.run(TwoNodeLab(), "leader", [], tmp_path, print)  # type: ignore[arg-type]
    assert fake_run.calls == []
