"""innode/recorder.py: job records written in the worker process, read back by placement."""

from __future__ import annotations

import json
import os
import socket
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest

from innode import recorder
from innode.recorder import Recorder
from lab import placement

CONTAINER = "3f" * 32
STORE = "file:/data/jobstores/fanout-20241129-201502-123456"


@pytest.mark.parametrize(
    "argv",
    [
        ["/usr/bin/python3", "/usr/local/bin/_toil_worker", "child", "file:/data/js", "kind-x/instance-y"],
        ["/usr/local/bin/_toil_worker", "child", "file:/data/js", "kind-x/instance-y"],
        ["python3", "-m", "toil.worker", "child", "file:/data/js"],
        ["/usr/bin/python3", "-u", "-m", "toil.worker", "child"],
    ],
)
def test_is_toil_worker(argv: list[str]) -> None:
    assert recorder.is_toil_worker(argv)


@pytest.mark.parametrize(
    "argv",
    [
        ["python3", "-m", "fanout", "/data/jobstores/fanout-1", "--batchSystem", "slurm"],
        ["/usr/local/bin/toil", "status", "/data/jobstores/x"],
        ["python3", "-m", "innode.slurm_conf"],
        ["python3", "-m", "toil.server"],
        ["python3", "workflow.py", "file:/data/js"],
        ["/usr/bin/python3"],
        [],
    ],
)
def test_is_not_toil_worker(argv: list[str]) -> None:
    assert not recorder.is_toil_worker(argv)


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Recorder:
    monkeypatch.setattr(recorder, "container_id", lambda: CONTAINER)
    monkeypatch.setattr(socket, "gethostname", lambda: "worker-2")
    return Recorder(str(tmp_path), "17")


def fake_job(name: str, unit: str | None = "", chain: list[str] | None = None, job_id: str = "") -> Any:
    description = SimpleNamespace(jobName=name, unitName=unit, jobStoreID=job_id or f"kind-{name}/instance-0")
    if chain is not None:
        description.get_chain = lambda: [SimpleNamespace(job_store_id=link) for link in chain]
    return SimpleNamespace(description=description)


def fake_file_store(locator: str = STORE, workflow_id: str = "wf-7") -> Any:
    return SimpleNamespace(
        jobStore=SimpleNamespace(locator=locator, config=SimpleNamespace(workflowID=workflow_id))
    )


def records(path: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def test_file_is_named_for_host_pid_and_start(made: Recorder, tmp_path: Path) -> None:
    assert made.path == str(tmp_path / f"worker-2-{os.getpid()}-{int(made.started * 1000)}.jsonl")
    assert (made.host, made.pid, made.container, made.batch_job_id) == (
        "worker-2",
        os.getpid(),
        CONTAINER,
        "17",
    )


def test_a_job_writes_start_and_end(made: Recorder) -> None:
    with made.job(fake_job("fanout.child", unit="child 3"), fake_file_store()):
        assert len(records(made.path)) == 1  # the start is on disk while the job runs
    start, end = records(made.path)
    # Both records carry what pairs them: node, pid, process start and sequence.
    common = {"node": "worker-2", "pid": os.getpid(), "sequence": 0, "process_started": made.started}
    assert start == {
        **common,
        "event": "start",
        "time": start["time"],
        "container": CONTAINER,
        "job_name": "fanout.child",
        "unit_name": "child 3",
        "job_id": "kind-fanout.child/instance-0",
        "batch_job_id": "17",
        "job_store": STORE,
        "workflow_id": "wf-7",
    }
    assert end == {**common, "event": "end", "time": end["time"], "status": "ok"}
    assert made.started <= start["time"] <= end["time"]


def test_a_failing_job_is_recorded_and_its_error_raised(made: Recorder) -> None:
    with pytest.raises(ValueError, match="bad input"), made.job(fake_job("fanout.child"), fake_file_store()):
        raise ValueError("bad input")
    _, end = records(made.path)
    assert (end["event"], end["status"], end["error"]) == ("end", "failed", "ValueError: bad input")
    assert (end["node"], end["pid"], end["sequence"]) == ("worker-2", os.getpid(), 0)


def test_a_long_error_is_cut(made: Recorder) -> None:
    with pytest.raises(RuntimeError), made.job(fake_job("j"), fake_file_store()):
        raise RuntimeError("x" * 2000)
    assert len(records(made.path)[1]["error"]) == 500


def test_a_killed_job_is_recorded_as_failed(made: Recorder) -> None:
    with pytest.raises(KeyboardInterrupt), made.job(fake_job("j"), fake_file_store()):
        raise KeyboardInterrupt
    assert records(made.path)[1]["status"] == "failed"


def test_sequence_counts_the_jobs_of_the_process(made: Recorder) -> None:
    for name in ("a", "b", "c"):
        with made.job(fake_job(name), fake_file_store()):
            pass
    assert [(r["event"], r["sequence"]) for r in records(made.path)] == [
        ("start", 0),
        ("end", 0),
        ("start", 1),
        ("end", 1),
        ("start", 2),
        ("end", 2),
    ]


def test_a_chained_job_records_its_own_id(made: Recorder) -> None:
    job = fake_job("second", chain=["kind-first/instance-1", "kind-second/instance-2"], job_id="kind-first/x")
    with made.job(job, fake_file_store()):
        pass
    assert records(made.path)[0]["job_id"] == "kind-second/instance-2"


def test_a_broken_chain_falls_back_to_the_description_id(made: Recorder) -> None:
    job = fake_job("j", job_id="kind-j/instance-9")

    def broken() -> list[Any]:
        raise RuntimeError("no chain")

    job.description.get_chain = broken
    with made.job(job, fake_file_store()):
        pass
    assert records(made.path)[0]["job_id"] == "kind-j/instance-9"


def test_missing_attributes_do_not_stop_the_job(made: Recorder) -> None:
    class Bare:
        pass

    with made.job(Bare(), object()):
        pass
    start, end = records(made.path)
    assert (start["job_name"], start["unit_name"], start["job_store"], start["workflow_id"]) == (
        "Bare",
        "",
        "",
        "",
    )
    assert end["status"] == "ok"


def test_a_write_failure_is_logged_not_raised(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(recorder, "container_id", lambda: "")
    broken = Recorder(str(tmp_path / "does-not-exist"), "")
    with caplog.at_level("WARNING", logger="innode.recorder"), broken.job(fake_job("j"), fake_file_store()):
        pass
    assert "could not record placement" in caplog.text
    assert not (tmp_path / "does-not-exist").exists()


def test_round_trip_through_placement(made: Recorder) -> None:
    with made.job(fake_job("fanout.root", unit="root"), fake_file_store()):
        pass
    with pytest.raises(OSError), made.job(fake_job("fanout.child", unit="child 1"), fake_file_store()):
        raise OSError("disk full")
    with made.job(
        fake_job("fanout.child", unit="child 2"), fake_file_store(locator="file:/data/jobstores/other")
    ):
        pass
    found = placement.parse_records(Path(made.path).read_text().splitlines())
    assert [(p.name, p.sequence, p.status) for p in found] == [
        ("root", 0, "ok"),
        ("child 1", 1, "failed"),
        ("child 2", 2, "ok"),
    ]
    assert found[1].error == "OSError: disk full"
    assert {(p.node, p.container, p.pid, p.batch_job_id, p.workflow_id) for p in found} == {
        ("worker-2", CONTAINER, os.getpid(), "17", "wf-7")
    }
    assert all(p.end is not None and p.start <= p.end for p in found)
    assert [
        p.name for p in placement.for_job_store(found, "/data/jobstores/fanout-20241129-201502-123456")
    ] == [
        "root",
        "child 1",
    ]


def test_two_nodes_with_the_same_pid_and_start_pair_by_node(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Containers have their own pid namespaces; the node keeps their records apart."""
    monkeypatch.setattr(recorder, "container_id", lambda: CONTAINER)
    made = []
    for host in ("worker-1", "worker-2"):
        monkeypatch.setattr(socket, "gethostname", lambda host=host: host)
        (tmp_path / host).mkdir()
        made.append(Recorder(str(tmp_path / host), "17"))
    one, two = made
    two.started = one.started
    with one.job(fake_job("fanout.child", unit="child 1"), fake_file_store()):
        pass
    with pytest.raises(OSError), two.job(fake_job("fanout.child", unit="child 2"), fake_file_store()):
        raise OSError("disk full")
    lines = Path(one.path).read_text().splitlines() + Path(two.path).read_text().splitlines()
    found = sorted(placement.parse_records(lines), key=lambda p: p.node)
    assert [(p.node, p.pid, p.name, p.status, p.error) for p in found] == [
        ("worker-1", os.getpid(), "child 1", "ok", ""),
        ("worker-2", os.getpid(), "child 2", "failed", "OSError: disk full"),
    ]


def test_container_id_is_read_from_the_mount_table(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "1290 1271 0:118 / / rw,relatime master:1 - overlay overlay rw\n"
        f"1301 1290 259:2 /var/lib/docker/containers/{CONTAINER}/hostname /etc/hostname rw,relatime - ext4 "
        "/dev/nvme0n1p2 rw\n"
    )
    real_open = open

    def fake_open(path: Any, *args: Any, **kwargs: Any) -> Any:
        return real_open(mountinfo if path == "/proc/self/mountinfo" else path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", fake_open)
    assert recorder.container_id() == CONTAINER
    mountinfo.write_text("1290 1271 0:118 / / rw,relatime master:1 - overlay overlay rw\n")
    assert recorder.container_id() == ""


# --- install: the .pth hook in a Toil worker ------------------------------------


@pytest.fixture
def fake_toil(monkeypatch: pytest.MonkeyPatch) -> type:
    """A stand-in `toil.job` whose Job._executor is a context manager, as Toil's is."""

    class Job:
        entered: ClassVar[list[str]] = []

        def __init__(self, name: str) -> None:
            self.description = SimpleNamespace(jobName=name, unitName="", jobStoreID=f"kind-{name}/i")

        @contextmanager
        def _executor(self, stats: Any, fileStore: Any) -> Iterator[None]:  # noqa: N803
            Job.entered.append(self.description.jobName)
            yield

    toil = types.ModuleType("toil")
    job_module = types.ModuleType("toil.job")
    job_module.Job = Job  # type: ignore[attr-defined]
    toil.job = job_module  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "toil", toil)
    monkeypatch.setitem(sys.modules, "toil.job", job_module)
    monkeypatch.setattr(sys, recorder._INSTALLED, False, raising=False)
    return Job


def test_install_wraps_the_executor_in_a_worker(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_toil: Any
) -> None:
    monkeypatch.setattr(
        sys, "orig_argv", ["/usr/bin/python3", "/usr/local/bin/_toil_worker", "x", STORE, "y"]
    )
    monkeypatch.setenv("LAB_PLACEMENT_DIR", str(tmp_path))
    monkeypatch.setenv("SLURM_JOB_ID", "23")
    monkeypatch.setattr(recorder, "container_id", lambda: CONTAINER)
    recorder.install()
    with fake_toil("fanout.child")._executor(stats=None, fileStore=fake_file_store()):
        pass
    assert fake_toil.entered == ["fanout.child"]
    [path] = tmp_path.glob("*.jsonl")
    [p] = placement.parse_records(path.read_text().splitlines())
    assert (p.job_name, p.batch_job_id, p.status, p.container) == ("fanout.child", "23", "ok", CONTAINER)
    # A second .pth pass in the same interpreter does not wrap twice.
    wrapped = fake_toil._executor
    recorder.install()
    assert fake_toil._executor is wrapped


def test_install_does_nothing_outside_a_worker(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_toil: Any
) -> None:
    original = fake_toil._executor
    monkeypatch.setattr(sys, "orig_argv", ["python3", "-m", "fanout", "/data/jobstores/x"])
    monkeypatch.setenv("LAB_PLACEMENT_DIR", str(tmp_path))
    recorder.install()
    assert fake_toil._executor is original


def test_install_without_the_directory_does_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_toil: Any
) -> None:
    original = fake_toil._executor
    monkeypatch.setattr(sys, "orig_argv", ["python3", "-m", "toil.worker", "x"])
    monkeypatch.setenv("LAB_PLACEMENT_DIR", str(tmp_path / "absent"))
    recorder.install()
    assert fake_toil._executor is original
