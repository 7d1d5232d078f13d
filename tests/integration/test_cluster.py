"""The lab itself: nodes, registration with the scheduler, separate filesystems, bad input."""

from __future__ import annotations

import json

import pytest

from innode.layout import worker_names
from lab.cluster import Lab
from tests.integration.conftest import Cli

pytestmark = pytest.mark.integration


def expected_workers(lab: Lab) -> list[str]:
    return worker_names(len(lab.workers()))


def test_every_worker_is_registered_and_idle(lab: Lab) -> None:
    workers = lab.workers()
    assert [w.name for w in workers] == expected_workers(lab)
    assert all(w.running for w in workers)
    states = lab.worker_states()
    assert [s.name for s in states] == expected_workers(lab)
    idle = {"slurm": "idle", "mesos": "active"}[lab.batch_system()]
    assert all(s.state == idle and s.ready for s in states), states


def test_status_json_shows_the_schedulers_view(cli: Cli, lab: Lab) -> None:
    result = cli("status", "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    by_name = {n["name"]: n for n in status["nodes"]}
    assert by_name["leader"]["role"] == "leader"
    for name in expected_workers(lab):
        assert by_name[name]["role"] == "worker"
        assert by_name[name]["state"] == "running"
        assert by_name[name]["scheduler"]["ready"] is True


def test_worker_private_volume_is_private(lab: Lab) -> None:
    worker_1, worker_2 = lab.node("worker-1"), lab.node("worker-2")
    worker_1.exec(["sh", "-c", "echo secret > /var/lib/lab/only-on-worker-1"])
    try:
        assert worker_1.exec(["test", "-f", "/var/lib/lab/only-on-worker-1"], check=False).returncode == 0
        for other in (worker_2, lab.leader()):
            seen = other.exec(["test", "-e", "/var/lib/lab/only-on-worker-1"], check=False)
            assert seen.returncode != 0, f"{other.name} sees worker-1's private file"
    finally:
        worker_1.exec(["rm", "-f", "/var/lib/lab/only-on-worker-1"])


def test_leader_user_code_is_invisible_to_workers(lab: Lab) -> None:
    lab.leader().write_text("/home/lab/only-on-leader.py", "print('hi')\n")
    try:
        for worker in lab.workers():
            seen = worker.exec(["test", "-e", "/home/lab/only-on-leader.py"], check=False)
            assert seen.returncode != 0, f"{worker.name} sees the leader's user code"
    finally:
        lab.leader().exec(["rm", "-f", "/home/lab/only-on-leader.py"])


def test_job_store_volume_is_shared(lab: Lab) -> None:
    lab.node("worker-2").write_text("/data/shared-probe.txt", "from worker-2\n")
    try:
        for node in [lab.leader(), *lab.workers()]:
            assert node.read_text("/data/shared-probe.txt") == "from worker-2\n", node.name
    finally:
        lab.leader().exec(["rm", "-f", "/data/shared-probe.txt"])


def test_exec_returns_the_commands_exit_code(cli: Cli) -> None:
    result = cli("exec", "worker-1", "--", "sh", "-c", "echo out; echo err >&2; exit 7")
    assert result.returncode == 7
    assert "out" in result.stdout
    assert "err" in result.stderr


def test_exec_on_unknown_node_lists_the_nodes(cli: Cli) -> None:
    result = cli("exec", "worker-99", "--", "true")
    assert result.returncode == 2
    assert "no node 'worker-99'" in result.stderr
    assert "leader, worker-1" in result.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["up", "--workers", "0"], {}, "out of range"),
        (["up", "--workers", "abc"], {}, "is not a number"),
        (["up"], {"BATCH_SYSTEM": "pbs"}, "choose one of: auto, slurm, mesos"),
        (["up"], {"WORKER_MEMORY": "100M"}, "is too small: a node needs at least 256M"),
        (["up"], {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}, "no reachable Docker daemon"),
    ],
)
def test_bad_input_is_refused_and_the_lab_stays_up(
    cli: Cli, lab: Lab, args: list[str], env: dict[str, str], message: str
) -> None:
    before = {n.name: n.container_id for n in lab.nodes()}
    result = cli(*args, env=env)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert {n.name: n.container_id for n in lab.nodes()} == before
    assert all(s.ready for s in lab.worker_states())


def test_up_twice_changes_nothing(cli: Cli, lab: Lab) -> None:
    before = {n.name: n.container_id for n in lab.nodes()}
    result = cli("up")
    assert result.returncode == 0, result.stderr
    assert {n.name: n.container_id for n in lab.nodes()} == before
