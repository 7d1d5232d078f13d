"""lab/node.py: a typed handle built from `docker inspect`, and the docker argv it makes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lab.errors import CommandFailed, LabError, NotReady
from lab.node import Node, sort_key
from lab.process import Result

from .fakes import DATA, FakeRun

LEADER_ID = "5a1c3e7f9b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d1f3a"


@pytest.fixture(scope="module")
def inspected() -> list[dict[str, Any]]:
    """`docker inspect` of a leader and two workers, as recorded from a lab."""
    data: list[dict[str, Any]] = json.loads((DATA / "docker-inspect.json").read_text())
    return data


@pytest.fixture
def nodes(inspected: list[dict[str, Any]]) -> dict[str, Node]:
    found = [Node.from_inspect(record) for record in inspected]
    return {node.name: node for node in found}


def test_from_inspect(nodes: dict[str, Node]) -> None:
    assert nodes["leader"] == Node(
        name="leader",
        role="leader",
        container_id=LEADER_ID,
        container_name="toil-lab-leader-1",
        state="running",
        health="healthy",
        image="toil-lab/node:toil-9.6.0-3f9a1c2b7d4e",
    )
    assert nodes["leader"].running


def test_from_inspect_paused_and_exited(nodes: dict[str, Node]) -> None:
    paused, exited = nodes["worker-10"], nodes["worker-2"]
    assert (paused.role, paused.state, paused.health, paused.running) == (
        "worker",
        "paused",
        "healthy",
        False,
    )
    assert (exited.role, exited.state, exited.health, exited.running) == ("worker", "exited", "", False)
    assert exited.container_name == "toil-lab-worker-2-1"


def test_from_inspect_of_a_container_without_lab_labels() -> None:
    node = Node.from_inspect({"Id": "f" * 64, "Name": "/stray", "Config": {"Labels": None}, "State": {}})
    assert (node.name, node.role, node.state, node.health) == ("", "", "unknown", "")


def test_sort_key_puts_the_leader_first_then_workers_by_number(nodes: dict[str, Node]) -> None:
    ordered = sorted(nodes.values(), key=sort_key)
    assert [node.name for node in ordered] == ["leader", "worker-2", "worker-10"]


def test_sort_key_values(nodes: dict[str, Node]) -> None:
    assert sort_key(nodes["leader"]) == (0, 0)
    assert sort_key(nodes["worker-10"]) == (1, 10)


def test_exec_argv_plain(nodes: dict[str, Node]) -> None:
    assert nodes["leader"].exec_argv(["scontrol", "ping"]) == [
        "docker",
        "exec",
        LEADER_ID,
        "scontrol",
        "ping",
    ]


def test_exec_argv_with_every_option(nodes: dict[str, Node]) -> None:
    argv = nodes["leader"].exec_argv(
        ["bash", "--login"],
        user="lab",
        workdir="/home/lab",
        env={"PYTHONUNBUFFERED": "1", "A": "x y"},
        interactive=True,
        tty=True,
    )
    assert argv == [
        "docker",
        "exec",
        "--interactive",
        "--tty",
        "--user",
        "lab",
        "--workdir",
        "/home/lab",
        "--env",
        "PYTHONUNBUFFERED=1",
        "--env",
        "A=x y",
        LEADER_ID,
        "bash",
        "--login",
    ]


def test_exec_runs_through_the_one_entry_point(nodes: dict[str, Node], fake_run: FakeRun) -> None:
    fake_run.on("docker", "exec", stdout="Slurmctld(primary) at leader is UP\n")
    result = nodes["leader"].exec(["scontrol", "ping"], user="slurm", check=False, timeout=10)
    assert result.stdout.endswith("is UP\n")
    [call] = fake_run.calls
    assert call.argv == ["docker", "exec", "--user", "slurm", LEADER_ID, "scontrol", "ping"]
    assert call.kwargs == {"check": False, "capture": True, "input": None, "timeout": 10}


def test_write_text_pipes_the_text_in(nodes: dict[str, Node], fake_run: FakeRun) -> None:
    fake_run.on("docker", "exec")
    nodes["leader"].write_text("/data/workflows/fanout.py", "print(1)\n")
    [call] = fake_run.calls
    assert call.argv == [
        "docker",
        "exec",
        "--interactive",
        "--user",
        "lab",
        LEADER_ID,
        "sh",
        "-c",
        'mkdir -p "$(dirname "$1")" && cat > "$1"',
        "write",
        "/data/workflows/fanout.py",
    ]
    assert call.kwargs["input"] == "print(1)\n"


READ_ARGV = ["sh", "-c", 'test -e "$1" || exit 3; exec cat -- "$1"', "read"]


def test_read_text_of_a_file(nodes: dict[str, Node], fake_run: FakeRun) -> None:
    fake_run.on("docker", "exec", stdout="ClusterName=lab\n")
    assert nodes["leader"].read_text("/etc/slurm/slurm.conf") == "ClusterName=lab\n"
    # The path is an argument of the script, never part of it.
    assert fake_run.argvs == [["docker", "exec", LEADER_ID, *READ_ARGV, "/etc/slurm/slurm.conf"]]


def test_read_text_of_a_missing_file_is_none(nodes: dict[str, Node], fake_run: FakeRun) -> None:
    fake_run.on("docker", "exec", returncode=3)
    assert nodes["leader"].read_text("/nope") is None
    assert fake_run.argvs == [["docker", "exec", LEADER_ID, *READ_ARGV, "/nope"]]


@pytest.mark.parametrize(
    ("returncode", "stderr"),
    [
        (1, f"Error response from daemon: container {LEADER_ID} is not running"),
        (1, "cat: /var/lib/lab/runs/last.json: Permission denied"),
    ],
)
def test_read_text_that_fails_is_an_error_with_the_commands_output(
    nodes: dict[str, Node], fake_run: FakeRun, returncode: int, stderr: str
) -> None:
    fake_run.on("docker", "exec", returncode=returncode, stderr=stderr)
    with pytest.raises(CommandFailed) as failed:
        nodes["leader"].read_text("/var/lib/lab/runs/last.json")
    assert isinstance(failed.value, LabError)
    assert failed.value.returncode == returncode
    assert stderr in str(failed.value)


@pytest.mark.parametrize(
    ("action", "argv"),
    [
        (lambda n: n.kill(), ["docker", "kill", "--signal", "KILL", LEADER_ID]),
        (lambda n: n.kill("TERM"), ["docker", "kill", "--signal", "TERM", LEADER_ID]),
        (lambda n: n.pause(), ["docker", "pause", LEADER_ID]),
        (lambda n: n.unpause(), ["docker", "unpause", LEADER_ID]),
        (lambda n: n.start(), ["docker", "start", LEADER_ID]),
        (lambda n: n.logs(tail=30), ["docker", "logs", "--tail", "30", LEADER_ID]),
    ],
)
def test_container_actions(nodes: dict[str, Node], fake_run: FakeRun, action: Any, argv: list[str]) -> None:
    fake_run.on("docker")
    action(nodes["leader"])
    assert fake_run.argvs == [argv]


REFUSED = "Error response from daemon: Cannot pause container x: OCI runtime pause failed: unable to freeze\n"


def test_pause_asks_again_when_the_freezer_gave_up(
    nodes: dict[str, Node], fake_run: FakeRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    """runc's "unable to freeze" (a process in uninterruptible I/O on a loaded host) left the
    container running: asked again, the second pause freezes it."""
    monkeypatch.setattr("time.sleep", lambda _seconds: None)
    answers = iter([Result((), 1, "", REFUSED), Result((), 0, "", "")])
    fake_run.script.append((("docker", "pause"), lambda _argv: next(answers)))
    nodes["worker-2"].pause()
    assert fake_run.argvs == [["docker", "pause", nodes["worker-2"].container_id]] * 2


def test_pause_that_keeps_being_refused_times_out_with_dockers_words(
    nodes: dict[str, Node], fake_run: FakeRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("time.sleep", lambda _seconds: None)
    fake_run.on("docker", "pause", returncode=1, stderr=REFUSED)
    with pytest.raises(NotReady, match=r"worker-2 to freeze.*unable to freeze"):
        nodes["worker-2"].pause(timeout=0)


def test_pause_of_a_stopped_container_fails_at_once(nodes: dict[str, Node], fake_run: FakeRun) -> None:
    stopped = "Error response from daemon: Container x is not running\n"
    fake_run.on("docker", "pause", returncode=1, stderr=stopped)
    with pytest.raises(CommandFailed, match="is not running"):
        nodes["worker-2"].pause()
    assert len(fake_run.calls) == 1


def test_logs_joins_both_streams(nodes: dict[str, Node], fake_run: FakeRun) -> None:
    fake_run.on("docker", "logs", stdout="slurmctld started\n", stderr="munged: warning\n")
    assert nodes["leader"].logs() == "slurmctld started\nmunged: warning\n"
    assert fake_run.argvs == [["docker", "logs", LEADER_ID]]


WORKER_2_ID = "0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d"


def test_shell_is_interactive_as_the_lab_user(nodes: dict[str, Node], fake_run: FakeRun) -> None:
    fake_run.on("docker", "exec", returncode=130)
    assert nodes["worker-2"].shell() == 130
    [call] = fake_run.calls
    assert call.argv == [
        "docker",
        "exec",
        "--interactive",
        "--tty",
        "--user",
        "lab",
        "--workdir",
        "/home/lab",
        WORKER_2_ID,
        "bash",
        "--login",
    ]
    assert call.kwargs == {"check": False, "capture": False}


def test_root_shell_without_a_terminal(nodes: dict[str, Node], fake_run: FakeRun) -> None:
    fake_run.on("docker", "exec")
    assert nodes["worker-2"].shell(user="root", tty=False) == 0
    assert fake_run.argvs == [
        [
            "docker",
            "exec",
            "--interactive",
            "--user",
            "root",
            "--workdir",
            "/",
            WORKER_2_ID,
            "bash",
            "--login",
        ]
    ]
