"""innode/slurm_conf.py: slurm.conf for a lab of N workers."""

from __future__ import annotations

import dataclasses

import pytest

from innode import slurm_conf as slurm
from innode.layout import worker_names
from innode.slurm_conf import SlurmLayout

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
    names = worker_names(workers)
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
            assert partition["Nodes"] in worker_names(LAYOUT.workers)
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
    assert worker_names(3) == ["worker-1", "worker-2", "worker-3"]


# --- the in-node entry point ---------------------------------------------------


def test_main_renders_conf_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LAB_NAME", "toil-lab")
    monkeypatch.setenv("LAB_WORKERS", "3")
    monkeypatch.setenv("LAB_WORKER_CPUS", "8")
    monkeypatch.setenv("LAB_WORKER_MEMORY_MB", "2048")
    monkeypatch.setenv("LAB_SLOTS_PER_CPU", "4")
    assert slurm.main([]) == 0
    out, err = capsys.readouterr()
    assert out == slurm.render_conf(LAYOUT)
    assert err == ""


@pytest.mark.parametrize("argv", [["render"], ["render-conf"], ["--help"]])
def test_main_bad_usage(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert slurm.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "usage: python3 -m innode.slurm_conf\n"
