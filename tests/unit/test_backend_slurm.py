"""lab/backends/slurm.py: sinfo parsed into worker states, and the Slurm backend's commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.backends import WorkerState, slurm
from lab.backends.slurm import SlurmBackend
from lab.errors import LabError
from lab.node import Node

from .fakes import FakeLeader, FakeRun

# --- sinfo -------------------------------------------------------------------

# What `sinfo --noheader --Node --format=%N|%T|%E` prints (Slurm 22.05, unsorted as
# sinfo may list a node once per partition). sinfo prints "none" when there is no reason.
SINFO = """\
worker-10|idle|none
worker-1|idle|none
worker-2|mixed|none
worker-3|idle*|Not responding
worker-4|down*|Not responding
worker-5|drained|Kill task failed
worker-6|draining|maintenance by lab [root@2024-11-29T20:15:02]
worker-7|allocated|none
worker-8|completing|none
worker-9|idle~|none

worker-11|IDLE#|none
worker-12|unknown|none
worker-13|drained*|reason with | a pipe
"""


@pytest.fixture(scope="module")
def states() -> dict[str, WorkerState]:
    return {state.name: state for state in slurm.parse_sinfo(SINFO)}


def test_parse_sinfo_sorts_workers_by_number() -> None:
    names = [state.name for state in slurm.parse_sinfo(SINFO)]
    assert names == [f"worker-{i}" for i in range(1, 14)]


def test_parse_sinfo_states_and_flags(states: dict[str, WorkerState]) -> None:
    assert states["worker-1"] == WorkerState("worker-1", "idle", "idle", "", ready=True, id="worker-1")
    assert states["worker-3"] == WorkerState(
        "worker-3", "idle", "idle*", "Not responding", ready=False, id="worker-3"
    )
    assert states["worker-4"] == WorkerState(
        "worker-4", "down", "down*", "Not responding", ready=False, lost=True, id="worker-4"
    )
    assert states["worker-9"] == WorkerState("worker-9", "idle", "idle~", "", ready=False, id="worker-9")
    assert states["worker-11"] == WorkerState("worker-11", "idle", "idle#", "", ready=False, id="worker-11")
    assert (states["worker-13"].state, states["worker-13"].raw) == ("drained", "drained*")


def test_parse_sinfo_reasons(states: dict[str, WorkerState]) -> None:
    assert states["worker-2"].reason == ""
    assert states["worker-5"].reason == "Kill task failed"
    assert states["worker-6"].reason == "maintenance by lab [root@2024-11-29T20:15:02]"
    assert states["worker-13"].reason == "reason with | a pipe"


@pytest.mark.parametrize(
    ("name", "ready"),
    [
        ("worker-1", True),
        ("worker-2", True),
        ("worker-7", True),
        ("worker-8", True),
        ("worker-10", True),
        ("worker-3", False),  # idle but not responding
        ("worker-4", False),
        ("worker-5", False),
        ("worker-6", False),
        ("worker-9", False),  # powered down
        ("worker-11", False),  # powering up
        ("worker-12", False),
        ("worker-13", False),
    ],
)
def test_node_state_ready(states: dict[str, WorkerState], name: str, ready: bool) -> None:
    assert states[name].ready is ready


def test_parse_sinfo_keeps_one_line_per_node() -> None:
    text = "worker-1|idle|none\nworker-1|idle|none\nworker-2|down*|Not responding\n"
    assert [s.name for s in slurm.parse_sinfo(text)] == ["worker-1", "worker-2"]


def test_parse_sinfo_of_nothing() -> None:
    assert slurm.parse_sinfo("") == []
    assert slurm.parse_sinfo("\n  \n") == []


def test_parse_sinfo_short_line_has_empty_reason() -> None:
    assert slurm.parse_sinfo("worker-1|idle\n") == [
        WorkerState("worker-1", "idle", "idle", "", ready=True, id="worker-1")
    ]


def test_only_a_down_worker_is_lost(states: dict[str, WorkerState]) -> None:
    assert [name for name, state in states.items() if state.lost] == ["worker-4"]


def test_worker_states_asks_sinfo_on_the_leader() -> None:
    leader = FakeLeader("worker-2|idle|none\nworker-1|down*|Not responding\n")
    assert [s.name for s in SlurmBackend().worker_states(leader)] == ["worker-1", "worker-2"]  # type: ignore[arg-type]
    assert leader.calls == [["sinfo", "--noheader", "--Node", "--format=%N|%T|%E"]]


def test_queued_jobs_counts_squeues_lines() -> None:
    leader = FakeLeader("17\n18\n")
    assert SlurmBackend().queued_jobs(leader) == 2  # type: ignore[arg-type]
    assert leader.calls == [["squeue", "--noheader", "--format=%i"]]


def test_after_a_rescale_every_daemon_rereads_the_configuration() -> None:
    leader = FakeLeader("")
    SlurmBackend().after_rescale(leader, [])  # type: ignore[arg-type]
    assert leader.calls == [["scontrol", "reconfigure"]]


def test_toil_options() -> None:
    assert SlurmBackend().toil_options(auto_deploy=True) == [("--batchSystem", "slurm_autodeploy")]
    assert SlurmBackend().toil_options(auto_deploy=False) == [("--batchSystem", "slurm")]


# --- configure: slurm.conf rewritten on the leader ---------------------------------------

LEADER_ID = "b" * 64
# How Node.read_text reads slurm.conf, and how write_text and reconfigure reach the leader.
READ = ("docker", "exec", LEADER_ID, "sh", "-c")
WRITE = ("docker", "exec", "--interactive", "--user", "root", LEADER_ID)
RECONFIGURE = ("docker", "exec", LEADER_ID, "scontrol", "reconfigure")
SETTINGS = [("SchedulerParameters", "bf_interval=5")]


def leader() -> Node:
    return Node("leader", "leader", LEADER_ID, "toil-lab-leader-1", "running", "healthy")


def test_configure_changes_the_settings_and_keeps_the_rest(fake_run: FakeRun) -> None:
    fake_run.on(*READ, stdout="ClusterName=lab\nSchedulerParameters=old\n")
    fake_run.on(*WRITE)
    fake_run.on(*RECONFIGURE)
    SlurmBackend().configure(leader(), SETTINGS)
    read, write, reconfigure = fake_run.calls
    assert read.argv[-1] == "/etc/slurm/slurm.conf"
    assert write.argv[-1] == "/etc/slurm/slurm.conf"
    assert write.kwargs["input"] == "ClusterName=lab\nSchedulerParameters=bf_interval=5\n"
    assert reconfigure.argv == list(RECONFIGURE)


@pytest.mark.parametrize(
    ("returncode", "stderr", "message"),
    [
        (1, f"Error response from daemon: container {LEADER_ID} is not running", "is not running"),
        (1, "cat: /etc/slurm/slurm.conf: Permission denied", "Permission denied"),
        (3, "", "/etc/slurm/slurm.conf does not exist on the leader"),
    ],
)
def test_configure_never_writes_slurm_conf_from_a_failed_read(
    fake_run: FakeRun, returncode: int, stderr: str, message: str
) -> None:
    fake_run.on(*READ, returncode=returncode, stderr=stderr)
    fake_run.on("docker", "exec")  # a write or a reconfigure, which must not come
    with pytest.raises(LabError, match=message):
        SlurmBackend().configure(leader(), SETTINGS)
    assert len(fake_run.calls) == 1, fake_run.argvs


def test_export_notes_a_slurm_conf_that_cannot_be_read(fake_run: FakeRun, tmp_path: Path) -> None:
    fake_run.on(*READ, returncode=1, stderr="cat: /etc/slurm/slurm.conf: Permission denied")
    fake_run.on("docker", "exec", LEADER_ID, stdout="worker-1|idle|none\n")
    SlurmBackend().export(leader(), [], tmp_path)
    assert "Permission denied" in (tmp_path / "slurm.conf").read_text()
    # What the scheduler said is kept.
    assert "worker-1|idle|none" in (tmp_path / "scheduler-nodes.txt").read_text()
