"""lab/process.py: the one subprocess entry point."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from lab import process
from lab.errors import CommandFailed, LabError


def test_runs_argv_and_captures_output() -> None:
    result = process.run([sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr)"])
    assert (result.returncode, result.stdout, result.stderr) == (0, "out\n", "err\n")
    assert result.argv[0] == sys.executable


def test_non_zero_exit_raises_command_failed() -> None:
    argv = [sys.executable, "-c", "import sys; print('bad', file=sys.stderr); sys.exit(3)"]
    with pytest.raises(CommandFailed) as failed:
        process.run(argv)
    assert failed.value.returncode == 3
    assert failed.value.argv == argv
    assert "bad" in failed.value.stderr


def test_check_false_returns_the_exit_code() -> None:
    result = process.run([sys.executable, "-c", "raise SystemExit(4)"], check=False)
    assert result.returncode == 4


def test_input_and_env_reach_the_program() -> None:
    code = "import os, sys; print(os.environ['LAB_TEST_VALUE'] + sys.stdin.read())"
    result = process.run([sys.executable, "-c", code], input="-piped", env={"LAB_TEST_VALUE": "set"})
    assert result.stdout == "set-piped\n"


def test_missing_program_is_a_lab_error_naming_it() -> None:
    with pytest.raises(LabError, match="'no-such-program-toil-lab' is not installed"):
        process.run(["no-such-program-toil-lab", "--version"])


def test_timeout_is_command_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    def expire(argv: list[str], **kwargs: Any) -> Any:
        raise subprocess.TimeoutExpired(argv, kwargs["timeout"], output=b"so far", stderr=b"")

    monkeypatch.setattr(subprocess, "run", expire)
    with pytest.raises(CommandFailed) as failed:
        process.run(["docker", "pull", "debian:bookworm-slim"], timeout=2)
    assert failed.value.returncode == -1
    assert failed.value.stdout == "so far"
    assert "timed out after 2s" in failed.value.stderr


def test_argv_is_a_list_never_a_shell_string(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def record(argv: Any, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        seen["argv"], seen["kwargs"] = argv, kwargs
        return subprocess.CompletedProcess(argv, 0, None, None)

    monkeypatch.setattr(subprocess, "run", record)
    result = process.run(("echo", "a b"), capture=False)
    assert seen["argv"] == ["echo", "a b"]
    assert "shell" not in seen["kwargs"]
    assert seen["kwargs"]["stdout"] is None
    assert seen["kwargs"]["env"] is None
    assert (result.stdout, result.stderr) == ("", "")


def test_on_line_hands_over_each_line_of_both_streams_as_it_comes() -> None:
    seen: list[str] = []
    code = "import sys; print('one'); sys.stdout.flush(); print('two', file=sys.stderr)"
    result = process.run([sys.executable, "-c", code], on_line=seen.append)
    assert seen == ["one\n", "two\n"]
    assert result.stdout == "one\ntwo\n"


def test_a_failure_carries_the_variables_the_command_needs() -> None:
    argv = [sys.executable, "-c", "raise SystemExit(5)"]
    with pytest.raises(CommandFailed) as failed:
        process.run(argv, env={"LAB_IMAGE": "toil-lab/node:x y"})
    assert failed.value.env == {"LAB_IMAGE": "toil-lab/node:x y"}
    assert str(failed.value).startswith(
        f"command failed with exit code 5: LAB_IMAGE='toil-lab/node:x y' {argv[0]}"
    )
