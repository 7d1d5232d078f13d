"""`lab shell`, `lab exec`: into a node."""

from __future__ import annotations

import argparse
import sys

from innode.layout import LAB_USER, LEADER
from lab.cli.verb import Context, Verb
from lab.errors import LabError


def _shell_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("node", nargs="?", default=LEADER)
    parser.add_argument("--root", action="store_true", help="as root instead of the lab user")


def shell(args: argparse.Namespace, context: Context) -> int:
    """An interactive shell on a node."""
    node = context.lab().node(args.node)
    return node.shell(user="root" if args.root else LAB_USER, tty=sys.stdin.isatty())


def _exec_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("node")
    parser.add_argument("argv", nargs=argparse.REMAINDER)
    parser.add_argument("--user", default=None, help="user to run as (default: root)")


def exec_command(words: list[str], user: str | None) -> tuple[list[str], str | None]:
    """Split `[--user U] -- CMD ...` (what follows NODE) into the command and the user."""
    if "--" in words and (not words or words[0].startswith("-")):
        cut = words.index("--")
        options, words = words[:cut], words[cut + 1 :]
        parser = argparse.ArgumentParser(prog="lab exec NODE", add_help=False)
        parser.add_argument("--user", default=user)
        user = parser.parse_args(options).user
    if not words:
        raise LabError("lab exec NODE [--user USER] -- CMD ...: give the command to run after --")
    return words, user


def exec_(args: argparse.Namespace, context: Context) -> int:
    """Run a command on a node; its exit code is lab's."""
    argv, user = exec_command(list(args.argv), args.user)
    node = context.lab().node(args.node)
    return node.exec(argv, user=user, check=False, capture=False).returncode


VERBS = (
    Verb(
        "shell",
        "an interactive shell on a node (default: the leader)",
        "lab shell worker-2",
        shell,
        _shell_arguments,
    ),
    Verb(
        "exec",
        "run a command on a node: lab exec NODE -- CMD ...",
        "lab exec worker-1 --user lab -- ls /var/lib/lab/placement",
        exec_,
        _exec_arguments,
    ),
)
