"""lab/errors.py: failures carry the pasteable command, exit code and output."""

from __future__ import annotations

import shlex

import pytest

from lab.errors import CommandFailed, ConfigError, LabError, NoSuchNode, NotReady

ARGV = ["docker", "exec", "--user", "lab", "abc123", "sh", "-c", "echo 'it is' $HOME"]


def test_message_has_the_pasteable_command_and_exit_code() -> None:
    error = CommandFailed(ARGV, 7, "", "")
    assert str(error) == f"command failed with exit code 7: {shlex.join(ARGV)}"
    # Pasted into a shell, it splits back into the same argv.
    assert shlex.split(str(error).split(": ", 1)[1]) == ARGV


def test_message_has_stdout_and_stderr() -> None:
    error = CommandFailed(ARGV, 1, "partial output\n", "sh: 1: oops: not found\n")
    lines = str(error).splitlines()
    assert lines[1:] == ["--- stdout ---", "partial output", "--- stderr ---", "sh: 1: oops: not found"]


def test_empty_streams_are_left_out() -> None:
    message = str(CommandFailed(ARGV, 2, "  \n", "only stderr"))
    assert "--- stdout ---" not in message
    assert message.endswith("--- stderr ---\nonly stderr")


def test_long_output_keeps_its_tail() -> None:
    stderr = "\n".join(f"line {i}" for i in range(100))
    message = str(CommandFailed(ARGV, 1, "", stderr))
    assert "line 99" in message
    assert "line 60" in message
    assert "line 59\n" not in message
    assert message.count("\nline ") == 40


def test_attributes_are_kept() -> None:
    error = CommandFailed(tuple(ARGV), 3, "o", "e")
    assert (error.argv, error.returncode, error.stdout, error.stderr) == (ARGV, 3, "o", "e")


@pytest.mark.parametrize("kind", [ConfigError, CommandFailed, NotReady, NoSuchNode])
def test_every_lab_failure_is_a_lab_error(kind: type[Exception]) -> None:
    assert issubclass(kind, LabError)
