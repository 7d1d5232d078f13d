"""lab/slurm.py: slurm.conf for the lab, and sinfo parsed into node states."""

from __future__ import annotations

import dataclasses

import pytest

from lab import slurm
from lab.slurm import NodeState, SlurmLayout

from .fakes import FakeLeader

LAYOUT = SlurmLayout(cluster="toil-lab", workers=3, cpus=8, memory_mb=2048, slots_per_cpu=4)


def conf_lines(layout: SlurmLayout) -> list[str]:
    return slurm.render_conf(layout).splitlines()


def setting(lines: list[str], key: str) -> str:
    [found] = [line for line in lines if line.startswith(f"{key}=")]
    return found


def fields(line: str) -> dict[str, str]:
    """'PartitionName=lab Nodes=worker-[1-3] ...' as {'PartitionName': 'lab', 'Nodes': ...}."""
    return dict(token.split("=", 1) for token in line.split())


def partitions(layout: SlurmLayout) -> dict[str, dict[str, str]]:
    found = [fields(line) for line in conf_lines(layout) if line.startswith("PartitionName=")]
    by_name = {partition["PartitionName"]: partition for partition in found}
    assert len(by_name) == len(found), "a partition is defined twice"
    return by_name


def test_conf_names_every_worker_once() -> None:
    lines = conf_lines(LAYOUT)
    assert setting(lines, "NodeName") == "NodeName=worker-[1-3] CPUs=8 RealMemory=1920 State=UNKNOWN"


def test_lab_partition_spans_every_worker_and_is_the_default() -> None:
    lab = partitions(LAYOUT)["lab"]
    assert lab["Nodes"] == "worker-[1-3]"
    assert lab["Default"] == "YES"
    assert lab["State"] == "UP"
    assert lab["MaxTime"] == "INFINITE"
    assert lab["OverSubscribe"] == "FORCE:4"


def test_only_the_lab_partition_is_the_default() -> None:
    defaults = [name for name, p in partitions(LAYOUT).items() if p.get("Default", "NO") == "YES"]
    assert defaults == ["lab"]


def test_every_partition_oversubscribes_by_the_slots_per_cpu() -> None:
    layout = dataclasses.replace(LAYOUT, slots_per_cpu=6)
    assert {p["OverSubscribe"] for p in partitions(layout).values()} == {"FORCE:6"}


def test_toil_picks_the_lab_partition_over_any_single_worker_partition() -> None:
    """Toil's Slurm batch system picks the partition with the lowest PriorityTier (sinfo %p)."""
    found = partitions(LAYOUT)
    tier = {name: int(p.get("PriorityTier", "1")) for name, p in found.items()}
    others = [name for name in found if name != "lab"]
    assert all(tier["lab"] < tier[name] for name in others), tier


@pytest.mark.parametrize("workers", [1, 3])
def test_one_partition_per_worker_besides_the_lab_partition(workers: int) -> None:
    found = partitions(dataclasses.replace(LAYOUT, workers=workers))
    names = slurm.worker_names(workers)
    assert list(found) == ["lab", *names]
    assert (found["lab"]["Nodes"], found["lab"]["PriorityTier"]) == (
        "worker-[1-3]" if workers == 3 else "worker-1",
        "1",
    )
    for name in names:
        assert (found[name]["Nodes"], found[name]["Default"], found[name]["PriorityTier"]) == (
            name,
            "NO",
            "2",
        )


def test_other_partitions_each_hold_one_known_worker() -> None:
    for name, partition in partitions(LAYOUT).items():
        if name != "lab":
            assert partition["Nodes"] in slurm.worker_names(LAYOUT.workers)
            assert partition["Default"] == "NO"


def test_conf_for_one_worker_names_it_without_a_range() -> None:
    layout = SlurmLayout("toil-lab", workers=1, cpus=2, memory_mb=1024, slots_per_cpu=6)
    assert setting(conf_lines(layout), "NodeName") == "NodeName=worker-1 CPUs=2 RealMemory=896 State=UNKNOWN"
    lab = partitions(layout)["lab"]
    assert (lab["Nodes"], lab["OverSubscribe"]) == ("worker-1", "FORCE:6")


def test_conf_for_many_workers() -> None:
    layout = SlurmLayout("toil-lab", workers=64, cpus=16, memory_mb=4096, slots_per_cpu=1)
    lines = conf_lines(layout)
    assert setting(lines, "NodeName") == "NodeName=worker-[1-64] CPUs=16 RealMemory=3968 State=UNKNOWN"
    assert partitions(layout)["lab"]["Nodes"] == "worker-[1-64]"


@pytest.mark.parametrize(("memory_mb", "real_memory"), [(2048, 1920), (256, 128), (200, 128), (100, 128)])
def test_real_memory_leaves_a_margin_with_a_floor(memory_mb: int, real_memory: int) -> None:
    layout = SlurmLayout("lab", workers=2, cpus=1, memory_mb=memory_mb, slots_per_cpu=1)
    assert f" RealMemory={real_memory} " in setting(conf_lines(layout), "NodeName")


def test_conf_is_configless_and_container_friendly() -> None:
    lines = conf_lines(LAYOUT)
    for expected in (
        "SlurmctldHost=leader",
        "AuthType=auth/munge",
        "SlurmctldParameters=enable_configless",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_CPU_Memory",
        "StateSaveLocation=/var/lib/lab/slurmctld",
        "SlurmdSpoolDir=/var/lib/lab/slurmd",
        "ReturnToService=2",
    ):
        assert expected in lines
    assert not any(line.startswith("ProctrackType=proctrack/cgroup") for line in lines)


def test_conf_is_well_formed() -> None:
    text = slurm.render_conf(LAYOUT)
    assert text.endswith("\n")
    settings = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert all("=" in line.split()[0] for line in settings)
    keys = [line.split("=", 1)[0] for line in settings if not line.startswith("PartitionName=")]
    assert len(keys) == len(set(keys)), "a setting appears twice"


@pytest.mark.parametrize(
    ("name", "cluster"),
    [("toil-lab", "toil_lab"), ("toil-lab-test", "toil_lab_test"), ("My.Lab", "my_lab"), ("lab_2", "lab_2")],
)
def test_cluster_name_is_sanitised(name: str, cluster: str) -> None:
    layout = SlurmLayout(name, workers=1, cpus=1, memory_mb=1024, slots_per_cpu=1)
    assert setting(conf_lines(layout), "ClusterName") == f"ClusterName={cluster}"


def test_layout_from_env() -> None:
    env = {
        "LAB_NAME": "toil-lab",
        "LAB_WORKERS": "3",
        "LAB_WORKER_CPUS": "8",
        "LAB_WORKER_MEMORY_MB": "2048",
        "LAB_SLOTS_PER_CPU": "4",
    }
    assert SlurmLayout.from_env(env) == LAYOUT


def test_worker_names() -> None:
    assert slurm.worker_names(3) == ["worker-1", "worker-2", "worker-3"]


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
def states() -> dict[str, NodeState]:
    return {state.name: state for state in slurm.parse_sinfo(SINFO)}


def test_parse_sinfo_sorts_workers_by_number() -> None:
    names = [state.name for state in slurm.parse_sinfo(SINFO)]
    assert names == [f"worker-{i}" for i in range(1, 14)]


def test_parse_sinfo_states_and_flags(states: dict[str, NodeState]) -> None:
    assert states["worker-1"] == NodeState("worker-1", "idle", "idle", "")
    assert states["worker-3"] == NodeState("worker-3", "idle", "idle*", "Not responding")
    assert states["worker-4"] == NodeState("worker-4", "down", "down*", "Not responding")
    assert states["worker-9"] == NodeState("worker-9", "idle", "idle~", "")
    assert states["worker-11"] == NodeState("worker-11", "idle", "idle#", "")
    assert (states["worker-13"].state, states["worker-13"].raw) == ("drained", "drained*")


def test_parse_sinfo_reasons(states: dict[str, NodeState]) -> None:
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
def test_node_state_ready(states: dict[str, NodeState], name: str, ready: bool) -> None:
    assert states[name].ready is ready


def test_parse_sinfo_keeps_one_line_per_node() -> None:
    text = "worker-1|idle|none\nworker-1|idle|none\nworker-2|down*|Not responding\n"
    assert [s.name for s in slurm.parse_sinfo(text)] == ["worker-1", "worker-2"]


def test_parse_sinfo_of_nothing() -> None:
    assert slurm.parse_sinfo("") == []
    assert slurm.parse_sinfo("\n  \n") == []


def test_parse_sinfo_short_line_has_empty_reason() -> None:
    assert slurm.parse_sinfo("worker-1|idle\n") == [NodeState("worker-1", "idle", "idle", "")]


def test_worker_states_asks_sinfo_on_the_leader() -> None:
    leader = FakeLeader("worker-2|idle|none\nworker-1|down*|Not responding\n")
    assert [s.name for s in slurm.worker_states(leader)] == ["worker-1", "worker-2"]
    assert leader.calls == [["sinfo", "--noheader", "--Node", "--format=%N|%T|%E"]]


def test_reconfigure() -> None:
    leader = FakeLeader("")
    slurm.reconfigure(leader)
    assert leader.calls == [["scontrol", "reconfigure"]]


def test_toil_options() -> None:
    assert slurm.toil_options(auto_deploy=True) == [("--batchSystem", "slurm_autodeploy")]
    assert slurm.toil_options(auto_deploy=False) == [("--batchSystem", "slurm")]


# --- the in-node entry point ---------------------------------------------------


def test_main_renders_conf_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LAB_NAME", "toil-lab")
    monkeypatch.setenv("LAB_WORKERS", "3")
    monkeypatch.setenv("LAB_WORKER_CPUS", "8")
    monkeypatch.setenv("LAB_WORKER_MEMORY_MB", "2048")
    monkeypatch.setenv("LAB_SLOTS_PER_CPU", "4")
    assert slurm.main(["render-conf"]) == 0
    out, err = capsys.readouterr()
    assert out == slurm.render_conf(LAYOUT)
    assert err == ""


@pytest.mark.parametrize("argv", [[], ["render"], ["render-conf", "extra"], ["--help"]])
def test_main_bad_usage(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert slurm.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "usage: python3 -m lab.slurm render-conf\n"
