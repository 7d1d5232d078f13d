"""lab/toil_tests/plugin.py: how Toil's appliance (leader, worker, runOnAppliance) maps onto lab nodes."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lab.backends import WorkerState
from lab.config import LabConfig
from lab.errors import LabError
from lab.node import Node
from lab.toil_tests import leftovers, plugin, shim
from lab.toil_tests.cause import Cause, Command
from lab.toil_tests.plugin import CommandLog, LabAppliance, Session, Settings

from ..fakes import FakeRun


def node(name: str, role: str = "worker") -> Node:
    return Node(name, role, f"id-{name}", f"toilt-{name}-1", "running", "healthy", "mesos", "toil-lab/node:t")


LEADER, WORKER_1, WORKER_2 = node("leader", "leader"), node("worker-1"), node("worker-2")


class Outer:
    """What the plugin uses of Toil's test case."""

    _testMethodName = "testRestart"  # noqa: N815 (unittest's name)

    def _getScriptSource(self, function: Any) -> str:  # noqa: N802 (Toil's name)
        return "print('hi')\n"

    def id(self) -> str:
        return "toil.test.src.autoDeploymentTest.AutoDeploymentTest.testRestart"


@pytest.fixture
def log(tmp_path: Path) -> CommandLog:
    return CommandLog(tmp_path / "testRestart")


def test_a_command_is_docker_exec_as_the_lab_user_in_the_tests_working_directory(log: CommandLog) -> None:
    leader = LabAppliance(Outer(), LEADER, "/home/lab/toil-tests/testRestart", log)
    assert leader.containerName == "id-leader"
    assert leader.command(["venv/bin/python", "-m", "foo.bar", "/data/jobstore"]) == [
        "docker", "exec", "--interactive", "--user", "lab", "--workdir", "/home/lab/toil-tests/testRestart",
        "--env", "HOME=/home/lab", "id-leader", "venv/bin/python", "-m", "foo.bar", "/data/jobstore",
    ]  # fmt: skip


def test_run_on_appliance_returns_stdout_when_captured_and_gives_the_input(
    fake_run: FakeRun, log: CommandLog
) -> None:
    fake_run.on("docker", "exec", stdout="pip 25\n")
    worker = LabAppliance(Outer(), WORKER_1, "/home/lab", log)
    assert worker.runOnAppliance("test", "-f", "/data/foo.txt") is None
    assert worker.runOnAppliance("pip", "list", capture=True) == "pip 25\n"
    worker.runOnAppliance("tee", "x.py", input="code\n")
    inputs = [call.kwargs["input"] for call in fake_run.calls]
    assert inputs == ["", "", "code\n"]  # never the terminal
    assert all(call.kwargs["check"] is False for call in fake_run.calls)
    assert [c.argv for c in log.commands] == [
        ("test", "-f", "/data/foo.txt"),
        ("pip", "list"),
        ("tee", "x.py"),
    ]
    assert {c.node for c in log.commands} == {"worker-1"}
    assert sorted(p.name for p in log.folder.iterdir())[0] == "01-worker-1-test_-f_data_foo.txt.log"


def test_run_on_appliance_raises_called_process_error_with_the_output(
    fake_run: FakeRun, log: CommandLog
) -> None:
    fake_run.on(
        "docker", "exec", returncode=1, stdout="out", stderr="NameError: name 'time' is not defined\n"
    )
    leader = LabAppliance(Outer(), LEADER, "/w", log)
    with pytest.raises(subprocess.CalledProcessError) as raised:
        leader.runOnAppliance("venv/bin/python", "-m", "foo.bar")
    assert raised.value.returncode == 1
    assert raised.value.stderr.startswith("NameError")
    assert raised.value.cmd[-3:] == ["venv/bin/python", "-m", "foo.bar"]
    assert log.commands[-1].returncode == 1
    with pytest.raises(TypeError, match="capture= and input="):
        leader.runOnAppliance("ls", shell=True)


def test_deploy_script_is_toils_own_over_the_labs_run_on_appliance(
    fake_run: FakeRun, log: CommandLog
) -> None:
    fake_run.on("docker", "exec")
    leader = LabAppliance(Outer(), LEADER, "/w", log)
    leader.deployScript("venv/lib/python3.11/site-packages", "foo.bar", lambda: None)
    assert [c.argv for c in log.commands] == [
        ("mkdir", "-p", "venv/lib/python3.11/site-packages/foo"),
        ("tee", "venv/lib/python3.11/site-packages/foo/__init__.py"),
        ("tee", "venv/lib/python3.11/site-packages/foo/bar.py"),
    ]
    assert fake_run.calls[-1].kwargs["input"] == "print('hi')\n"


class PinnableLab:
    """A lab whose master's view follows its pinning; records what was asked."""

    def __init__(self) -> None:
        self.config = LabConfig(name="toilt")
        self.events: list[str] = []
        self.pinned_to: str | None = None

    def node(self, name: str) -> Node:
        return {"leader": LEADER, "worker-1": WORKER_1, "worker-2": WORKER_2}[name]

    def leader(self) -> Node:
        return LEADER

    def workers(self) -> list[Node]:
        return [WORKER_1, WORKER_2]

    @contextlib.contextmanager
    def pinned(self, name: str) -> Iterator[list[str]]:
        self.events.append(f"pin {name}")
        self.pinned_to = name
        try:
            yield []
        finally:
            self.pinned_to = None
            self.events.append("unpin")

    def worker_states(self) -> list[WorkerState]:
        def state(name: str) -> WorkerState:
            ready = self.pinned_to in (None, name)
            return WorkerState(name, "active" if ready else "deactivated", "", "", ready)

        return [state("worker-1"), state("worker-2")]


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Session]:
    lab = PinnableLab()
    made = Session(Settings("toilt", "worker-1", tmp_path), lab)  # type: ignore[arg-type]
    monkeypatch.setattr(plugin, "_session", made)

    def begin(leader: Node) -> tuple[set[str], list[str]]:
        lab.events.append(f"note /data on {leader.name}")
        return {"jobstores"}, []

    def end(leader: Node, before: set[str]) -> list[str]:
        lab.events.append(f"remove from /data all but {sorted(before)}")
        return ["/data/jobstore"]

    monkeypatch.setattr(leftovers, "begin", begin)
    monkeypatch.setattr(leftovers, "end", end)
    yield made


def test_the_cluster_is_the_labs_leader_and_one_worker_the_others_out_of_the_way(
    session: Session, fake_run: FakeRun
) -> None:
    fake_run.on("docker", "exec")
    lab: PinnableLab = session.lab  # type: ignore[assignment]
    with plugin.lab_cluster(Outer(), {"/tmp/toil-data-x": "/data"}) as (leader, worker):
        assert lab.events == ["pin worker-1", "note /data on leader"]
        assert (leader.node, leader.workdir) == (LEADER, "/home/lab/toil-tests/testRestart")
        assert (worker.node, worker.workdir) == (WORKER_1, "/home/lab")
        assert fake_run.argvs[-1] == [
            "docker", "exec", "--user", "lab", "id-leader",
            "sh", "-c", 'rm -rf "$1" && mkdir -p "$1"', "workdir", "/home/lab/toil-tests/testRestart",
        ]  # fmt: skip
    assert lab.events[-2:] == ["remove from /data all but ['jobstores']", "unpin"]
    assert fake_run.argvs[-1][-3:] == ["rm", "-rf", "/home/lab/toil-tests/testRestart"]


def test_the_other_workers_come_back_even_when_the_test_fails(session: Session, fake_run: FakeRun) -> None:
    fake_run.on("docker", "exec")
    lab: PinnableLab = session.lab  # type: ignore[assignment]
    with pytest.raises(subprocess.CalledProcessError), plugin.lab_cluster(Outer(), {"/tmp/d": "/data"}):
        raise subprocess.CalledProcessError(1, ["venv/bin/python"])
    assert lab.events[-2:] == ["remove from /data all but ['jobstores']", "unpin"]
    assert lab.pinned_to is None


def test_pinning_waits_for_the_master_to_offer_the_one_worker_alone() -> None:
    lab = PinnableLab()
    check = plugin.only_active(lab, "worker-1")  # type: ignore[arg-type]
    assert not check.ok and check.detail == "worker-1: active, worker-2: active"
    lab.pinned_to = "worker-1"
    assert plugin.only_active(lab, "worker-1").ok  # type: ignore[arg-type]


def test_only_data_can_be_mounted() -> None:
    plugin.check_mounts({"/tmp/toil-test-data": "/data"})
    with pytest.raises(
        LabError, match="mounts /var/lib/mesos into its appliance; the lab's nodes share /data"
    ):
        plugin.check_mounts({"/tmp/a": "/data", "/tmp/b": "/var/lib/mesos"})


def test_declare_python_changes_toils_exact_python_everywhere_it_was_imported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import toil.version

    monkeypatch.setattr(toil.version, "exactPython", "python3.10")
    user = types.ModuleType("toil.test.src.fakeTest")
    user.exactPython = "python3.10"  # type: ignore[attr-defined]
    other = types.ModuleType("notoil")
    other.exactPython = "python3.10"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, user.__name__, user)
    monkeypatch.setitem(sys.modules, other.__name__, other)
    changed = plugin.declare_python("python3.11")
    assert "toil.version" in changed and user.__name__ in changed
    assert toil.version.exactPython == user.exactPython == "python3.11"  # type: ignore[attr-defined]
    assert other.exactPython == "python3.10"  # type: ignore[attr-defined]


def test_the_appliance_tag_holds_toils_commit_as_applianceself_wants() -> None:
    tag = plugin.appliance_tag("toilt", "6793fc7f112785e13a229691d6de23225e73339e")
    assert tag == "toil-lab/appliance:toilt-6793fc7f112785e13a229691d6de23225e73339e"


def test_settings_from_the_runners_environment(tmp_path: Path) -> None:
    env = {"LAB_NAME": "toilt", "TOIL_TESTS_WORKER": "worker-2", "TOIL_TESTS_RESULTS": str(tmp_path)}
    assert Settings.from_env(env) == Settings("toilt", "worker-2", tmp_path)
    assert Settings.from_env({}).worker == "worker-1"


def test_check_shims_runs_the_shim_on_path(
    tmp_path: Path, fake_run: FakeRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = shim.write(tmp_path, "toilt", "worker-1", python="/usr/bin/python3", root=tmp_path)
    monkeypatch.setenv("PATH", str(folder))
    fake_run.on(str(folder / "mesos-master"), "--version", stdout="mesos 1.12.0\n")
    assert plugin.check_shims() == "mesos 1.12.0"


def test_check_shims_refuses_a_mesos_master_that_is_not_the_labs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(LabError, match="`mesos-master` on PATH is missing, not the lab's shim"):
        plugin.check_shims()


def test_the_cause_of_a_failed_command_or_pytests_report() -> None:
    log = CommandLog(Path("/unused"))
    log.commands.append(
        Command(
            ("venv/bin/python", "-m", "foo.bar"),
            "leader",
            1,
            "",
            "Traceback (most recent call last):\n  x\nNameError: name 'time' is not defined\n",
        )
    )
    error = subprocess.CalledProcessError(1, ["docker"])
    assert plugin.cause_of_failure(error, log, "E   subprocess.CalledProcessError") == Cause(
        "NameError: name 'time' is not defined", "leader process, leader: venv/bin/python -m foo.bar"
    )
    # An assertion of the test itself: pytest's words, not the last failed command's.
    report = "E   AssertionError: CalledProcessError not raised"
    assert plugin.cause_of_failure(AssertionError(), log, report) == Cause(
        "AssertionError: CalledProcessError not raised", "pytest"
    )


def test_prepare_refuses_a_runner_whose_toil_is_not_the_labs(monkeypatch: pytest.MonkeyPatch) -> None:
    from lab.toil_tests import installed

    monkeypatch.setattr(plugin, "Lab", lambda config: PinnableLab())
    monkeypatch.setattr(
        installed, "in_node", lambda node: installed.Installed("9.6.0-abc", "/usr/lib", "lab", "python3.11")
    )
    mine = {
        "version": "9.6.0-abc",
        "site": "/runner/site-packages",
        "digest": "other",
        "python": "python3.11",
    }
    monkeypatch.setattr(plugin.toil_facts, "facts", lambda: mine)
    with pytest.raises(LabError) as error:
        plugin.prepare(Settings("toilt"))
    assert (
        "this runner's Toil (/runner/site-packages, 9.6.0-abc) is not the one lab 'toilt' installed"
        in str(error.value)
    )
    assert "`lab toil-tests`" in str(error.value)


def test_prepare_refuses_a_slurm_lab(monkeypatch: pytest.MonkeyPatch) -> None:
    lab = PinnableLab()
    slurm_leader = Node("leader", "leader", "id", "n", "running", "healthy", "slurm")
    monkeypatch.setattr(lab, "leader", lambda: slurm_leader)
    monkeypatch.setattr(plugin, "Lab", lambda config: lab)
    with pytest.raises(LabError, match="lab 'toilt' runs slurm; Toil's appliance tests need Mesos"):
        plugin.prepare(Settings("toilt"))
