"""lab/workflow.py: checking a workflow file, and the Toil command that runs it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from lab import workflow
from lab.errors import ConfigError, LabError
from lab.process import Result

LAB_DEFAULTS = [
    "--batchSystem",
    "slurm",
    "--defaultMemory",
    "256M",
    "--defaultDisk",
    "256M",
    "--workDir",
    "/var/lib/lab/toil-work",
]


def write(tmp_path: Path, name: str, text: str = "print('hi')\n") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- check_workflow ----------------------------------------------------------------


def test_check_workflow_returns_the_module(tmp_path: Path) -> None:
    assert workflow.check_workflow(write(tmp_path, "my_flow.py")) == "my_flow"


def test_check_workflow_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"workflow file .*/nope\.py does not exist"):
        workflow.check_workflow(tmp_path / "nope.py")


def test_check_workflow_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        workflow.check_workflow(tmp_path)


@pytest.mark.parametrize("name", ["my-flow.py", "2flow.py", "flow.txt", "flow", "my flow.py"])
def test_check_workflow_bad_module_name(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError) as error:
        workflow.check_workflow(write(tmp_path, name))
    assert str(error.value) == (
        f"{tmp_path / name} cannot be run as a module: name it like my_workflow.py "
        "(letters, digits and '_', ending in .py)"
    )


def test_check_workflow_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.py", "import sys\n\ndef main(:\n    pass\n")
    with pytest.raises(ConfigError) as error:
        workflow.check_workflow(path)
    message = str(error.value)
    assert message.startswith(f"{path}:3: syntax error: ")
    assert message.endswith("; fix it and run again (nothing was started)")


def test_check_workflow_does_not_run_the_file(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = write(tmp_path, "side_effect.py", f"open({str(marker)!r}, 'w').close()\n")
    assert workflow.check_workflow(path) == "side_effect"
    assert not marker.exists()


# --- options -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "name"),
    [
        ("--defaultMemory=1G", "--defaultMemory"),
        ("--defaultMemory", "--defaultMemory"),
        ("--x=a=b", "--x"),
        ("1G", None),
        ("-v", None),
        ("/data/jobstores/x", None),
    ],
)
def test_option_name(argument: str, name: str | None) -> None:
    assert workflow.option_name(argument) == name


def test_merge_options_keeps_defaults_the_user_did_not_give() -> None:
    merged = workflow.merge_options([("--a", "1"), ("--flag", None), ("--b", "2")], ["--logLevel", "DEBUG"])
    assert merged == ["--a", "1", "--flag", "--b", "2", "--logLevel", "DEBUG"]


@pytest.mark.parametrize("user", [["--defaultMemory=1G"], ["--defaultMemory", "1G"]])
def test_user_memory_overrides_the_lab_default(user: list[str]) -> None:
    merged = workflow.merge_options(workflow.DEFAULT_OPTIONS, user)
    assert merged == ["--defaultDisk", "256M", "--workDir", "/var/lib/lab/toil-work", *user]
    assert "256M" not in merged[merged.index(user[0]) :]


def test_user_batch_system_overrides_the_backends() -> None:
    argv = workflow.toil_argv("fanout", "/data/jobstores/j", ["--batchSystem", "single_machine"])
    assert argv.count("--batchSystem") == 1
    assert argv[-2:] == ["--batchSystem", "single_machine"]
    assert "slurm" not in argv


def test_toil_argv_shape() -> None:
    argv = workflow.toil_argv("fanout", "/data/jobstores/fanout-1", ["--logLevel", "DEBUG", "--retryCount=2"])
    assert argv == [
        "python3",
        "-m",
        "fanout",
        "/data/jobstores/fanout-1",
        *LAB_DEFAULTS,
        "--logLevel",
        "DEBUG",
        "--retryCount=2",
    ]


def test_toil_argv_without_user_arguments() -> None:
    assert workflow.toil_argv("w", "/data/jobstores/w", []) == [
        "python3",
        "-m",
        "w",
        "/data/jobstores/w",
        *LAB_DEFAULTS,
    ]


# --- run_workflow, with a leader that keeps files in a dict --------------------------


class FakeLeader:
    def __init__(self, files: dict[str, str] | None = None, exit_code: int = 0) -> None:
        self.files = dict(files or {})
        self.exit_code = exit_code
        self.execs: list[tuple[list[str], dict[str, Any]]] = []

    def read_text(self, path: str) -> str:
        return self.files.get(path, "")

    def write_text(self, path: str, text: str, *, user: str = "lab") -> None:
        self.files[path] = text

    def exec(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None, **kwargs: Any) -> Result:
        self.execs.append((list(argv), {"env": env, **kwargs}))
        code = self.exit_code if argv[:2] == ["python3", "-m"] else 0
        return Result(tuple(argv), code, "", "")


def test_run_workflow(tmp_path: Path) -> None:
    path = write(tmp_path, "fanout.py", "print('fan')\n")
    leader = FakeLeader(exit_code=3)
    record, code = workflow.run_workflow(leader, path, ["--logLevel", "INFO"])  # type: ignore[arg-type]
    assert code == 3
    assert record.exit_code == 3
    assert record.module == "fanout"
    assert record.job_store.startswith("/data/jobstores/fanout-")
    assert leader.files["/data/workflows/fanout.py"] == "print('fan')\n"
    assert json.loads(leader.files[workflow.LAST_RUN])["exit_code"] == 3
    mkdir, run = leader.execs
    assert mkdir[0] == ["mkdir", "-p", "/data/jobstores"]
    assert run[0] == ["python3", "-m", "fanout", record.job_store, *LAB_DEFAULTS, "--logLevel", "INFO"]
    assert run[1]["user"] == "lab"
    assert run[1]["workdir"] == "/data/workflows"
    assert run[1]["check"] is False
    assert run[1]["capture"] is False


def test_restart_reuses_the_last_job_store(tmp_path: Path) -> None:
    previous = workflow.RunRecord("fanout.py", "fanout", "/data/jobstores/fanout-old", [], 1.0, 1)
    leader = FakeLeader({workflow.LAST_RUN: json.dumps(previous.__dict__)})
    record, _ = workflow.run_workflow(leader, write(tmp_path, "fanout.py"), ["--restart"])  # type: ignore[arg-type]
    assert record.job_store == "/data/jobstores/fanout-old"
    assert leader.execs[-1][0][3:5] == ["/data/jobstores/fanout-old", "--batchSystem"]


def test_restart_without_a_previous_run(tmp_path: Path) -> None:
    leader = FakeLeader()
    with pytest.raises(ConfigError, match="no previous run to restart"):
        workflow.run_workflow(leader, write(tmp_path, "fanout.py"), ["--restart"])  # type: ignore[arg-type]
    assert leader.execs == []


def test_a_bad_workflow_starts_nothing(tmp_path: Path) -> None:
    leader = FakeLeader()
    with pytest.raises(ConfigError):
        workflow.run_workflow(leader, write(tmp_path, "bad.py", "def (:\n"), [])  # type: ignore[arg-type]
    assert (leader.execs, leader.files) == ([], {})


def test_require_last_run() -> None:
    with pytest.raises(LabError, match="no workflow has run on this lab yet"):
        workflow.require_last_run(FakeLeader())  # type: ignore[arg-type]
