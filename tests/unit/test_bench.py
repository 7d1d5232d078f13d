"""lab/bench.py: the parsing, ratio and report code, with no Docker."""

from __future__ import annotations

import argparse
import json

import pytest

from lab import bench
from lab.bench import BenchResult, JobRun, StartUp, WorkerMemory
from lab.errors import ConfigError


def run(batch_system: str, round_: int, wall: float, cpu: float = 10.0) -> JobRun:
    return JobRun(batch_system, round_, wall, {"leader": cpu}, 65, ["worker-1"], [])


def test_workflow_source_has_the_job_count_and_compiles() -> None:
    source = bench.workflow_source(64)
    compile(source, "bench_trivial.py", "exec")
    assert "toil.start(Job.wrapJobFn(root, 64))" in source
    assert "@JOBS@" not in source


def test_workflow_source_needs_a_child() -> None:
    with pytest.raises(ConfigError, match="--jobs=0"):
        bench.workflow_source(0)


@pytest.mark.parametrize(
    ("text", "mib"),
    [
        ("39.11MiB", 39.11),
        ("2GiB", 2048.0),
        ("512KiB", 0.5),
        ("0B", 0.0),
        ("1.5MB", 1.5e6 / 2**20),
        ("812kB", 812e3 / 2**20),
    ],
)
def test_parse_size_mib(text: str, mib: float) -> None:
    assert bench.parse_size_mib(text) == pytest.approx(mib)


def test_parse_size_rejects_other_text() -> None:
    with pytest.raises(ValueError, match="not a size"):
        bench.parse_size_mib("--")


def test_parse_stats_memory_reads_docker_stats_json_lines() -> None:
    # Recorded from `docker stats --no-stream --format '{{json .}}'` (Docker 20.10).
    text = (
        '{"BlockIO":"0B / 0B","CPUPerc":"1.98%","Container":"2dead06a477d","ID":"2dead06a477d",'
        '"MemPerc":"1.91%","MemUsage":"39.11MiB / 2GiB","Name":"bench-explore_worker-2_1",'
        '"NetIO":"371kB / 258kB","PIDs":"6"}\n'
        '{"BlockIO":"0B / 0B","CPUPerc":"0.32%","Container":"d333dc11e8d2","ID":"d333dc11e8d2",'
        '"MemPerc":"2.03%","MemUsage":"41.49MiB / 2GiB","Name":"bench-explore_worker-1_1",'
        '"NetIO":"415kB / 283kB","PIDs":"12"}\n\n'
    )
    assert bench.parse_stats_memory(text) == {
        "2dead06a477d": pytest.approx(39.11),
        "d333dc11e8d2": pytest.approx(41.49),
    }


def test_parse_cpu_seconds_cgroup_v1_and_v2() -> None:
    assert bench.parse_cpu_seconds("25050481768\n") == pytest.approx(25.050481768)
    v2 = "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n"
    assert bench.parse_cpu_seconds(v2) == pytest.approx(1.5)
    with pytest.raises(ValueError, match="no CPU usage"):
        bench.parse_cpu_seconds("cat: no such file\n")


def test_parse_resident_mib_prefers_hierarchical_rss_on_v1_and_anon_on_v2() -> None:
    v1 = "cache 38936576\nrss 7340032\ntotal_cache 38936576\ntotal_rss 7393280\n"
    assert bench.parse_resident_mib(v1) == pytest.approx(7393280 / 2**20)
    v2 = "anon 8388608\nfile 40000000\n"
    assert bench.parse_resident_mib(v2) == pytest.approx(8.0)
    with pytest.raises(ValueError, match="no anon/rss"):
        bench.parse_resident_mib("file 1\n")


def test_set_conf_values_replaces_appends_and_drops_duplicates() -> None:
    conf = "ClusterName=lab\nSchedulerType=sched/builtin\nSchedulerParameters=a\nschedulerparameters=b\n"
    changed = bench.set_conf_values(
        conf, [("SchedulerParameters", "defer,max_rpc_cnt=8"), ("MessageTimeout", "5")]
    )
    assert changed.splitlines() == [
        "ClusterName=lab",
        "SchedulerType=sched/builtin",
        "SchedulerParameters=defer,max_rpc_cnt=8",
        "MessageTimeout=5",
    ]


def test_set_conf_values_leaves_lines_that_only_start_alike() -> None:
    conf = "SlurmdTimeout=30\nSlurmdTimeoutExtra=1\n"
    assert (
        bench.set_conf_values(conf, [("SlurmdTimeout", "10")]) == "SlurmdTimeout=10\nSlurmdTimeoutExtra=1\n"
    )


def test_parse_setting() -> None:
    assert bench.parse_setting("SchedulerParameters=defer,max_rpc_cnt=8") == (
        "SchedulerParameters",
        "defer,max_rpc_cnt=8",
    )
    for bad in ("defer", "=1", "Bad Key=1"):
        with pytest.raises(argparse.ArgumentTypeError):
            bench.parse_setting(bad)


def test_noop_override_replaces_each_entrypoint() -> None:
    override = bench.noop_override(["leader", "worker-1"])
    assert override == {
        "services": {
            "leader": {"entrypoint": ["sleep", "infinity"]},
            "worker-1": {"entrypoint": ["sleep", "infinity"]},
        }
    }


def test_ratio_and_median() -> None:
    assert bench.ratio(30.0, 20.0) == pytest.approx(1.5)
    assert bench.ratio(None, 20.0) is None
    assert bench.ratio(3.0, 0.0) is None
    assert bench.median([3.0, 1.0, 2.0]) == 2.0
    assert bench.median([]) is None


def test_result_ratios_use_medians_of_each_batch_system() -> None:
    result = BenchResult("b", 3, 64, 2, [1.0, 1.0, 1.0], 0, 4)
    result.runs = [
        run("single_machine", 1, 20.0),
        run("slurm", 1, 30.0),
        run("slurm", 2, 34.0),
        run("single_machine", 2, 22.0),
    ]
    assert result.jobs_ratio == pytest.approx(32.0 / 21.0)
    result.memory_idle = [WorkerMemory("worker-1", 12.0, 3.0)]
    result.memory_after = [WorkerMemory("worker-1", 40.0, 7.0)]
    assert result.worst_worker_mib == 40.0
    data = json.loads(json.dumps(result.to_json()))
    assert data["slurm_median_s"] == 32.0
    assert data["single_machine_median_s"] == 21.0
    assert data["jobs_ratio_target"] == bench.JOBS_RATIO_TARGET


def test_startup_ratio() -> None:
    assert StartUp(4, lab_up_s=12.0, noop_s=3.0).ratio == pytest.approx(4.0)


def test_report_shows_ratios_and_verdicts() -> None:
    result = BenchResult("toil-lab-bench", 3, 64, 2, [0.5, 0.5, 0.5], 0, 4)
    result.startup = StartUp(4, 12.0, 3.0)
    result.runs = [run("single_machine", 1, 20.0), run("slurm", 1, 40.0)]
    result.memory_idle = [WorkerMemory("worker-1", 12.0, 3.0)]
    report = bench.format_report(result)
    assert "4.0x" in report
    assert "2.0x  <= 1.5x MISSED" in report
    assert "worst 12.0 MiB  target < 50 MiB ok" in report
    assert "worker-1 12.0 (3.0 resident) MiB" in report


def test_parser_defaults_and_repeatable_options() -> None:
    args = bench.build_parser().parse_args(
        ["--slurm-set", "SchedulerParameters=defer", "--toil-arg=--maxJobs=16", "--toil-arg=--x"]
    )
    assert args.lab == bench.DEFAULT_BENCH_LAB
    assert args.workers == 3
    assert args.jobs == 64
    assert args.json == bench.DEFAULT_JSON
    assert args.slurm_set == [("SchedulerParameters", "defer")]
    assert args.toil_arg == ["--maxJobs=16", "--x"]


def test_bench_config_names_and_sizes_the_lab_whatever_the_environment() -> None:
    options = bench.BenchOptions(lab="bench-x", workers=2, slots_per_cpu=6)
    config = bench.bench_config(options, {"LAB_NAME": "toil-lab", "WORKERS": "5"})
    assert (config.name, config.workers, config.slots_per_cpu) == ("bench-x", 2, 6)
