"""`lab cwl-conformance`: the CWL v1.2 conformance suite, by cwltest with toil-cwl-runner, on the lab.

One run goes through the labs of the batch systems asked (Slurm, and Mesos where a Mesos
build exists): each its own lab (CWL_CONFORMANCE_LAB_NAME-<batch system>, default
toil-lab-cwl-<batch system>; brought up for the run, removed after unless --keep), or the
running LAB_NAME lab of that batch system with LAB_REUSE=1. On the first lab's leader the
suite runs first on `single_machine`, the baseline: the same Toil, image and leader, only
the batch system differs.

On a lab, the suite (lab/cwl/spec.py) is copied into the leader's private area, as `lab run`
copies a workflow: only the leader sees it, and Toil imports the inputs into the job store.
cwltest runs on the leader as the lab user, its tool innode/cwl_runner.py (toil-cwl-runner
with a job store of its own per test on the shared volume), with Toil's own conformance
options (those of `toil/test/cwl/cwlTest.py`, less --logDebug) and `--no-container`: the
nodes have no container engine, and the tests tagged `docker` are set aside as needing one.

The junit XML of each batch system and cwltest's output go to test-results/cwl-conformance/,
with summary.md: the table, the findings (tests that passed on single_machine and failed on a
batch system) and every failure, each with the first line of its cause from the job's own
log (lab/cwl/results.py). A failing test is a finding, not a failure of the lab: the exit
code is 1 when there are findings, 2 when the suite could not run, else 0.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from innode.layout import DATA_DIR, LAB_USER, USER_HOME
from lab import backends, settings, startup, workflow
from lab.config import CWL_SPEC_COMMIT, LabConfig
from lab.cwl import results, spec
from lab.cwl.run import NO_RUNNER, RUNNER_OPTIONS, has_runner
from lab.errors import ConfigError, LabError
from lab.node import Node
from lab.steps import Say, print_line
from lab.toil_tests import in_node

DEFAULT_LAB_NAME = "toil-lab-cwl"
NO_MESOS = (
    "the suite on Mesos needs a Mesos build: run `make mesos` once, or set MESOS_PACKAGE "
    "(docs/mesos.md); or run on Slurm alone: --batch-systems slurm"
)
BATCH_SYSTEMS = ("slurm", "mesos")
# The suite on the leader (private), and each batch system's run on the shared volume:
# its tool, its job stores, cwltest's junit XML.
SPEC_DIR = f"{USER_HOME}/cwl-conformance/suite"
REMOTE = f"{DATA_DIR}/cwl-conformance"
PIDFILE = "/tmp/cwl-conformance.pid"
# Toil's own conformance options (run_conformance_tests in toil/test/cwl/cwlTest.py, Toil
# 9.6.0) but --logDebug, which would make the junit XML of the whole suite huge. cwltest
# passes --quiet to the runner even with --junit-verbose (cwltest 2.7.20260814150058:
# CWLTestConfig's `runner_quiet or True`), and --quiet turns Toil's default log level
# (INFO) into ERROR, which hides the failed jobs' logs that the leader relays at WARNING:
# an explicit --logLevel WARNING keeps them. Caching is Toil's default (off) here.
CONFORMANCE_OPTIONS: tuple[tuple[str, str | None], ...] = (
    ("--logLevel", "WARNING"),
    ("--clean", "always"),
    ("--statusWait", "10"),
    ("--retryCount", "2"),
    ("--relax-path-checks", None),
    ("--eval-timeout", "600"),
)
# Seconds per test: Toil's own conformance runs give 2400 (cwltest's default is 600). The
# suite's two-level nested scatters run hundreds of jobs each and, with -j 4 on 2 cores,
# took over 9 minutes on single_machine.
DEFAULT_TIMEOUT = 2400
DEFAULT_JOBS = 4


@dataclass(frozen=True)
class Request:
    """What to run, where, and where the results go."""

    batch_systems: tuple[str, ...]  # the labs' batch systems, in order (the first also runs the baseline)
    selection: spec.Selection = dataclasses.field(default_factory=spec.Selection)
    jobs: int = DEFAULT_JOBS  # cwltest's -j: tests at once
    timeout: int = DEFAULT_TIMEOUT  # cwltest's --timeout, per test
    toil_args: tuple[str, ...] = ()  # toil-cwl-runner's, after the lab's (same name: the user's wins)
    results: Path = Path("test-results/cwl-conformance")
    baseline: bool = True  # run single_machine on the first lab's leader
    keep: bool = False  # keep the labs this run brings up


def default_batch_systems(env: Mapping[str, str]) -> tuple[str, ...]:
    """Slurm, and Mesos where there is a Mesos build (MESOS_PACKAGE, remembered, or `make mesos`'s)."""
    return ("slurm", "mesos") if settings.has_mesos_build(env, own_name(env, "mesos")) else ("slurm",)


def own_name(env: Mapping[str, str], batch_system: str) -> str:
    """The name of this suite's own lab of a batch system."""
    return f"{env.get('CWL_CONFORMANCE_LAB_NAME') or DEFAULT_LAB_NAME}-{batch_system}"


def lab_config(users: LabConfig, env: Mapping[str, str], batch_system: str) -> tuple[LabConfig, bool]:
    """The lab of one batch system, and whether it is the user's running lab (LAB_REUSE=1)."""
    if batch_system not in BATCH_SYSTEMS:
        raise ConfigError(f"--batch-systems: {batch_system!r} is not one of {', '.join(BATCH_SYSTEMS)}")
    config, reuse = settings.suite_lab(
        users, env, own=own_name(env, batch_system), batch_system=batch_system, no_mesos=NO_MESOS
    )
    if not reuse:
        config = dataclasses.replace(config, cwl=True)
    return config, reuse


def toil_options(batch_system: str) -> list[tuple[str, str | None]]:
    """The options every test's toil-cwl-runner gets on a batch system, before the user's."""
    if batch_system == results.BASELINE:
        placed: list[tuple[str, str | None]] = [("--batchSystem", results.BASELINE)]
    else:
        # No user code to ship: the tools are cwltool's, in the nodes' image.
        placed = backends.get(batch_system).toil_options(auto_deploy=False)
    return [*placed, *RUNNER_OPTIONS, *CONFORMANCE_OPTIONS, *workflow.DEFAULT_OPTIONS]


def cwltest_argv(request: Request, batch_system: str) -> list[str]:
    """cwltest's command line on the leader, for one batch system."""
    remote = f"{REMOTE}/{batch_system}"
    runner_options = workflow.merge_options(toil_options(batch_system), request.toil_args)
    return [
        "cwltest",
        "--test", f"{SPEC_DIR}/{spec.SELECTION_FILE}",
        "--basedir", SPEC_DIR,
        "--tool", f"{remote}/runner",
        "-j", str(request.jobs),
        "--timeout", str(request.timeout),
        "--junit-xml", f"{remote}/junit.xml",
        "--junit-verbose",
        "--classname", batch_system,
        "--", *runner_options,
    ]  # fmt: skip


def runner_script(batch_system: str) -> str:
    """cwltest's tool: toil-cwl-runner with a job store of its own (innode/cwl_runner.py)."""
    stores = f"{REMOTE}/{batch_system}/jobstores"
    return f'#!/bin/sh\nexec python3 -m innode.cwl_runner {stores} "$@"\n'


def stage_suite(leader: Node, root: Path, chosen: Sequence[spec.ConformanceTest]) -> None:
    """The suite into the leader's private area, with the lab's selection file at its root."""
    if not has_runner(leader):
        raise ConfigError(NO_RUNNER)
    leader.exec(["rm", "-rf", SPEC_DIR], user=LAB_USER)
    leader.copy_in(root, SPEC_DIR)
    leader.write_text(f"{SPEC_DIR}/{spec.SELECTION_FILE}", spec.selection_file(chosen))


def run_on(
    leader: Node, lab_name: str, batch_system: str, request: Request, set_aside: int, say: Say
) -> results.Tally:
    """cwltest on the leader for one batch system; its tally (junit XML and log copied to the results)."""
    remote = f"{REMOTE}/{batch_system}"
    out = request.results.resolve()
    out.mkdir(parents=True, exist_ok=True)
    junit, log = out / f"{batch_system}.xml", out / f"{batch_system}.log"
    junit.unlink(missing_ok=True)
    leader.exec(["sh", "-c", 'rm -rf "$1" && mkdir -p "$1/jobstores"', "remote", remote], user=LAB_USER)
    leader.write_text(f"{remote}/runner", runner_script(batch_system))
    leader.exec(["chmod", "+x", f"{remote}/runner"], user=LAB_USER)
    say(f"CWL conformance on {batch_system}: cwltest -j {request.jobs} on {lab_name}'s leader")
    started = time.monotonic()
    code = in_node.run_stoppable(
        leader, cwltest_argv(request, batch_system), log, pidfile=PIDFILE, workdir=SPEC_DIR,
        env={"HOME": USER_HOME}, say=say,
    )  # fmt: skip
    seconds = time.monotonic() - started
    text = leader.read_text(f"{remote}/junit.xml")
    if text is None:
        raise LabError(f"cwltest on {batch_system} exited {code} and wrote no junit XML: see {log}")
    junit.write_text(text)
    # The job stores are Toil's to remove (--clean=always); what a killed test left goes
    # with the run's folder.
    leader.exec(["rm", "-rf", remote], user=LAB_USER, check=False)
    rows = results.read(batch_system, junit, log.read_text(errors="replace"))
    return results.Tally(batch_system, lab_name, tuple(rows), set_aside, seconds)


def run(users: LabConfig, env: Mapping[str, str], request: Request, say: Say = print_line) -> int:
    """The suite on every batch system asked; print the table and findings; the exit code."""
    root = spec.suite_root(env, users.root)
    every = spec.catalogue(root)
    asked = spec.select(every, request.selection)
    chosen = [test for test in asked if not test.needs_container]
    set_aside = len(asked) - len(chosen)
    if not chosen:
        raise ConfigError("the selection chose no test that runs without a container engine: nothing to run")
    configs = [lab_config(users, env, batch_system) for batch_system in request.batch_systems]
    say(
        f"CWL v1.2 conformance suite ({CWL_SPEC_COMMIT[:8]}, {root}): {len(chosen)} tests to run, "
        f"{set_aside} set aside (they need a container engine)"
    )
    tallies: list[results.Tally] = []
    for index, (config, reuse) in enumerate(configs):
        policy = startup.Policy(reuse=reuse, keep=request.keep, keep_if_up=True)
        with startup.running_lab(config, policy, say=say) as lab:
            leader = lab.leader()
            stage_suite(leader, root, chosen)
            systems = [results.BASELINE] if index == 0 and request.baseline else []
            for batch_system in [*systems, lab.batch_system()]:
                tallies.append(run_on(leader, config.name, batch_system, request, set_aside, say))
    found = results.findings(tallies)
    out = request.results.resolve()
    (out / "summary.md").write_text(summary(tallies, request, root))
    print(
        f"\nCWL v1.2 conformance ({len(chosen)} tests run, {set_aside} need a container engine and were not)"
    )
    print(results.render(tallies))
    print(f"\nFindings: passed on {results.BASELINE}, failed on a batch system ({len(found)})")
    print(results.render_rows(found))
    print(f"\n(junit XML, cwltest's output and summary.md with every failure's cause: {out})")
    return 1 if found else 0


def summary(tallies: Sequence[results.Tally], request: Request, root: Path) -> str:
    """summary.md: what ran, the table, the findings, every failure."""
    selection = request.selection
    narrowed = [
        f"{what} {', '.join(words)}"
        for what, words in (
            ("names", selection.names),
            ("tags", selection.tags),
            ("excluding tags", selection.exclude_tags),
        )
        if words
    ]
    asked = "; ".join(narrowed) or "the whole suite"
    return (
        f"# CWL v1.2 conformance on the lab\n\nSuite {root} (commit {CWL_SPEC_COMMIT}); {asked}; "
        f"cwltest -j {request.jobs} --timeout {request.timeout}; tests tagged `{spec.CONTAINER_TAG}` set "
        "aside (no container engine in the nodes).\n\n" + results.markdown(tallies)
    )
