"""`lab`: the command line behind the Makefile.

Each verb is a small handler in one of this package's modules (lifecycle, access,
views, workflows, faults, suites, scenarios, mesos_build), declared with its help and an
example (lab/cli/verb.py);
the parser is built from VERBS. To add a verb, write its handler and list it there.
Exit codes: 0 done, 2 an error the message explains, 3 not ready in time, 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType

from lab import settings
from lab.cli import access, faults, lifecycle, mesos_build, scenarios, suites, views, workflows
from lab.cli.verb import Context, Verb
from lab.errors import LabError, NotReady

VERBS: tuple[Verb, ...] = (
    *lifecycle.VERBS,
    *views.VERBS,
    *access.VERBS,
    *workflows.VERBS,
    *faults.VERBS,
    *suites.VERBS,
    *scenarios.VERBS,
    *mesos_build.VERBS,
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every `lab` verb."""
    parser = argparse.ArgumentParser(
        prog="lab",
        description="A Docker Compose multi-node lab for Toil. LAB_NAME names the lab (default toil-lab).",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log every command; stream image builds")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for verb in VERBS:
        verb.add_to(commands)
    return parser


class Terminated(BaseException):
    """SIGTERM arrived: raised like KeyboardInterrupt, so that clean-ups (finally, with) run."""


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


def _on_terminate() -> Callable[[int, FrameType | None], object] | int | None:
    """Turn SIGTERM into Terminated (main thread only); the handler it replaced."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _terminate)


def main(argv: Sequence[str] | None = None, context: Context | None = None) -> int:
    """Run one `lab` command; its exit code."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not args.verb.passes_on:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    # `--` ends the verb's own options: what follows is passed on as it is.
    args.extra = extra[1:] if extra[:1] == ["--"] else extra
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="lab: %(message)s")
    previous = _on_terminate()
    try:
        context = context or Context(settings.lab_config(), verbose=args.verbose)
        code: int = args.verb.run(args, context)
        return code
    except Terminated:
        print("lab: terminated (SIGTERM); what this command had started was cleaned up", file=sys.stderr)
        return 143
    except NotReady as error:
        print(f"lab: not ready: {error}", file=sys.stderr)
        return 3
    except LabError as error:
        print(f"lab: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
