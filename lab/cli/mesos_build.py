"""`lab build-mesos`: Apache Mesos built from source, for Mesos labs (lab/backends/mesos/build.py)."""

from __future__ import annotations

import argparse

from lab import base_image
from lab.backends.mesos import build
from lab.cli.verb import Context, Verb
from lab.config import MESOS_BUILD_MINUTES
from lab.startup import building
from lab.steps import Steps


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "source",
        nargs="?",
        help="a Mesos source: a .tar.gz, a folder or git checkout, or a URL (default: MESOS_SOURCE, "
        f"else {build.DEFAULT_SOURCE})",
    )
    parser.add_argument(
        "--until",
        default=build.PHASES[-1],
        choices=build.PHASES,
        help="stop after this phase (configure: check the recipe in minutes; default: the whole build)",
    )
    parser.add_argument("--jobs", "-j", type=int, help="parallel compile jobs (default: the host's CPUs)")


def build_mesos(args: argparse.Namespace, context: Context) -> int:
    """Build Mesos (or find it built) and say where the archive is."""
    config = context.config
    source = args.source or config.mesos_source or build.DEFAULT_SOURCE
    steps = Steps()
    # A `lab up` beside it (as `make test` starts on a fresh machine) may be making the same
    # base image; the Mesos build itself uses folders of its own and does not hold the lock.
    with steps.step(f"base image {config.base_image}") as step, building(config.root):
        step.outcome = base_image.ensure_base_image(config, step.say)
        platform = base_image.base_platform(config, step.say)
    built = build.build(
        config, source, platform, steps, until=args.until, jobs=args.jobs, verbose=context.verbose
    )
    if built is None:
        print(
            f"lab: the Mesos recipe went through {args.until}; `lab build-mesos` without --until finishes it"
        )
        return 0
    done = "was built already" if built.cached else "built"
    print(
        f"Mesos {built.version} {done}: {built.archive} ({built.size / 1e6:.1f} MB).\n"
        "BATCH_SYSTEM=auto now picks it for a new lab: `make lab-up`. Elsewhere: "
        f"MESOS_PACKAGE={built.archive}"
    )
    return 0


VERBS = (
    Verb(
        "build-mesos",
        f"build Apache Mesos from source for Mesos labs (about {MESOS_BUILD_MINUTES} min on 2 cores; once)",
        "lab build-mesos ~/src/mesos-1.12.0.tar.gz",
        build_mesos,
        _arguments,
        "Builds Mesos from a source tree inside a Docker build over BASE_IMAGE, against the "
        "distribution's protobuf, gRPC, ZooKeeper, libarchive and re2, and writes an install tree "
        "archive (prefix /opt/mesos, stripped) under build/mesos/built/. The archive is named by a "
        "digest of the source and the recipe: a second call with the same inputs does nothing. "
        "BATCH_SYSTEM=auto picks the newest such build for a new lab. One line per phase "
        "(toolchain, unpack, bootstrap, configure, compile, install, strip, check, pack) with its time; "
        "the whole log in build/logs/.",
    ),
)
