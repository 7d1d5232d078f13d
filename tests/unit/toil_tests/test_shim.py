"""lab/toil_tests/shim.py: mesos-master and mesos-agent on the runner's PATH run the lab's real ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.errors import LabError
from lab.node import Node
from lab.toil_tests import shim

from ..fakes import FakeRun

LEADER = Node(
    "leader", "leader", "c0ffee", "toilt-leader-1", "running", "healthy", "mesos", "toil-lab/node:x"
)


def test_the_master_runs_on_the_leader_and_the_agent_on_the_appliance_worker() -> None:
    assert shim.node_of("mesos-master", "worker-2") == "leader"
    assert shim.node_of("mesos-agent", "worker-2") == "worker-2"
    with pytest.raises(LabError, match="no shim for 'mesos-slave'"):
        shim.node_of("mesos-slave", "worker-1")


def test_argv_execs_the_binary_in_the_node_with_stdin_and_a_tty_only_when_there_is_one() -> None:
    assert shim.argv(LEADER, "mesos-master", ["--version"], tty=False) == [
        "docker", "exec", "--interactive", "c0ffee", "mesos-master", "--version",
    ]  # fmt: skip
    assert shim.argv(LEADER, "mesos-master", ["--help"], tty=True)[:4] == [
        "docker", "exec", "--interactive", "--tty",
    ]  # fmt: skip


def test_write_makes_two_executable_scripts_that_name_their_lab_and_node(tmp_path: Path) -> None:
    folder = shim.write(tmp_path / "bin", "toilt", "worker-1", python="/venv/bin/python", root=tmp_path)
    master, agent = folder / "mesos-master", folder / "mesos-agent"
    for path in (master, agent):
        assert path.stat().st_mode & 0o111
        assert shim.is_shim(path)
        assert path.read_text().startswith("#!/venv/bin/python\n")
    assert "sys.exit(main(['toilt', 'leader', 'mesos-master', *sys.argv[1:]]))" in master.read_text()
    assert "sys.exit(main(['toilt', 'worker-1', 'mesos-agent', *sys.argv[1:]]))" in agent.read_text()
    assert f"sys.path.insert(0, {str(tmp_path)!r})" in master.read_text()
    compile(master.read_text(), str(master), "exec")


def test_is_shim_of_a_real_binary(tmp_path: Path) -> None:
    real = tmp_path / "mesos-master"
    real.write_bytes(b"\x7fELF\x02\x01\x01\x00" + b"\0" * 64)
    assert not shim.is_shim(real)
    assert not shim.is_shim(tmp_path / "missing")


def test_main_finds_the_node_by_its_labels_and_passes_the_exit_code_on(
    fake_run: FakeRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lab import cluster

    monkeypatch.setattr(cluster.Lab, "node", lambda self, name: LEADER if name == "leader" else None)
    fake_run.on("docker", "exec", returncode=3)
    assert shim.main(["toilt", "leader", "mesos-master", "--version"]) == 3
    assert fake_run.argvs == [["docker", "exec", "--interactive", "c0ffee", "mesos-master", "--version"]]
    assert fake_run.calls[0].kwargs == {"check": False, "capture": False}


def test_main_without_the_node_says_so_and_exits_127(
    fake_run: FakeRun, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lab import cluster
    from lab.errors import NoSuchNode

    def missing(self: object, name: str) -> Node:
        raise NoSuchNode(f"lab 'toilt' has no node {name!r}")

    monkeypatch.setattr(cluster.Lab, "node", missing)
    assert shim.main(["toilt", "worker-9", "mesos-agent"]) == 127
    assert "mesos-agent (toil-lab shim): lab 'toilt' has no node 'worker-9'" in capsys.readouterr().err
    assert fake_run.calls == []
