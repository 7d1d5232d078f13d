"""`lab toil-tests`: Toil's own tests, unmodified, against a Mesos lab; a table of what they came to.

The lab is the toil-tests' own (TOIL_TESTS_LAB_NAME, default toil-lab-toiltests), brought
up for the run (or found up and left so) and removed after unless --keep; or, with
LAB_REUSE=1, the running LAB_NAME lab when it runs Mesos. The Mesos build is MESOS_PACKAGE,
or the one the LAB_NAME lab (then the toil-tests lab) remembers from its last `lab up`.
The Toil is the lab's: TOIL_VERSION, or the TOIL_SOURCE checkout built into its image.

A failing Toil test is a finding about Toil, not a failure of the lab: the exit code is 1,
and the table says what failed and why. An exit code of 2 means the tests could not run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lab import remembered, startup
from lab.cluster import Lab, Say, print_line
from lab.config import LabConfig
from lab.errors import ConfigError, LabError
from lab.toil_tests import appliance_family, mesos_family, table
from lab.toil_tests.families import INTERRUPTED, NONE_SELECTED, Family, Outcome

DEFAULT_LAB_NAME = "toil-lab-toiltests"
NO_MESOS = (
    "Toil's tests need a Mesos lab, and no Mesos build is given: set MESOS_PACKAGE to a Mesos .deb or "
    "install-tree .tar.gz (README.md, 'Mesos'), or run `lab up` with it once (the lab remembers it)"
)


@dataclass(frozen=True)
class Request:
    """What to run: which families, with which pytest arguments, where the results go."""

    families: tuple[Family, ...]
    pytest_args: tuple[str, ...] = ()
    results: Path = Path("test-results/toil-tests")
    worker: str | None = None  # the appliance tests' worker (default: the lab's first)
    mesos_node: str | None = None  # where the Mesos tests run (default: the lab's last worker)
    keep: bool = False  # keep a lab this run brought up


def tests_config(env: Mapping[str, str]) -> tuple[LabConfig, bool]:
    """The lab to run on, and whether it is the user's running lab (LAB_REUSE=1)."""
    settings = {**env, "BATCH_SYSTEM": "mesos"}
    users = LabConfig.from_env(settings)
    reuse = env.get("LAB_REUSE") == "1" and Lab(users).running_batch_system() == "mesos"
    if not reuse:
        settings["LAB_NAME"] = env.get("TOIL_TESTS_LAB_NAME") or DEFAULT_LAB_NAME
    config = remembered.apply(remembered.apply(LabConfig.from_env(settings), users.name))
    if config.mesos_package is None and not reuse:
        raise ConfigError(NO_MESOS)
    return config, reuse


@contextlib.contextmanager
def lab_for_tests(config: LabConfig, *, reuse: bool, keep: bool, say: Say) -> Iterator[Lab]:
    """The lab, up for the run: the user's as it is (reuse), else brought up (made, or updated) here.

    A lab this call made is removed afterwards unless `keep`; one that was up before stays.
    """
    lab = Lab(config, say)
    if reuse:
        say(f"running Toil's tests on lab {config.name!r} as it is (LAB_REUSE=1)")
        yield lab
        return
    was_up = lab.is_up()
    try:
        startup.up(lab)
    except BaseException:
        if not was_up:
            with contextlib.suppress(LabError):
                lab.clean()
        raise
    try:
        yield lab
    finally:
        if was_up or keep:
            say(
                f"lab {config.name!r} is kept: `LAB_NAME={config.name} lab status`; "
                f"`LAB_NAME={config.name} lab clean --yes` removes it"
            )
        else:
            lab.clean()


def default_nodes(lab: Lab, request: Request) -> tuple[str, str]:
    """The appliance tests' worker (the first) and the Mesos tests' node (the last worker)."""
    workers = [w.name for w in lab.workers()]
    if not workers:
        raise LabError(f"lab {lab.config.name!r} has no workers")
    return request.worker or workers[0], request.mesos_node or workers[-1]


def run_family(lab: Lab, family: Family, request: Request, say: Say) -> Outcome:
    """One family against the lab."""
    worker, mesos_node = default_nodes(lab, request)
    results = request.results.resolve()
    if family.name == "appliance":
        return appliance_family.run(lab, worker, request.pytest_args, results, say)
    return mesos_family.run(lab, mesos_node, request.pytest_args, results, say)


def verdict(outcomes: Sequence[Outcome]) -> tuple[int, list[str]]:
    """The run's exit code (0 all passed, 1 Toil tests failed, 2 could not run) and what to say of it."""
    notes: list[str] = []
    code = 0
    for outcome in outcomes:
        name, rows = outcome.family.name, outcome.rows
        if outcome.returncode == NONE_SELECTED:
            notes.append(f"{name}: the selection chose none of its tests")
        elif outcome.returncode == INTERRUPTED:
            notes.append(f"{name}: pytest was interrupted; the table shows what ran before ({outcome.log})")
            code = 2
        elif not outcome.ran:
            notes.append(
                f"{name}: pytest exited {outcome.returncode} before running its tests ({outcome.log})"
            )
            code = 2
        elif rows and all(row.result == table.SKIPPED for row in rows):
            notes.append(f"{name}: every test was skipped (see the reasons): nothing ran on the lab")
            code = max(code, 1)
        elif any(row.bad for row in rows) or outcome.returncode != 0:
            code = max(code, 1)
    if outcomes and all(o.returncode == NONE_SELECTED for o in outcomes):
        notes.append("no test was selected: check the -k expression and --family")
        code = 2
    return code, notes


def all_rows(outcomes: Sequence[Outcome]) -> list[table.Row]:
    """Every family's table rows, in order."""
    return [row for outcome in outcomes for row in outcome.rows]


def summary(lab: Lab, outcomes: Sequence[Outcome], notes: Sequence[str]) -> str:
    """summary.md: the table and where everything is."""
    rows = all_rows(outcomes)
    config = lab.config
    toil = (
        f"TOIL_SOURCE={config.toil_source}" if config.toil_source else f"TOIL_VERSION={config.toil_version}"
    )
    lines = [
        f"# Toil's own tests on lab {config.name!r}",
        "",
        f"{toil}; MESOS_PACKAGE={config.mesos_package}; {table.counts(rows)}.",
        "",
        table.markdown(rows),
    ]
    for outcome in outcomes:
        lines.append(
            f"- {outcome.family.name}: pytest exit {outcome.returncode}; {outcome.junit}; {outcome.log}"
        )
    lines += [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def run(config: LabConfig, reuse: bool, request: Request, say: Say = print_line) -> int:
    """Run the requested families on the lab; print the table; the exit code (see verdict)."""
    results = request.results.resolve()
    results.mkdir(parents=True, exist_ok=True)
    if any(f.name == "appliance" for f in request.families):
        appliance_family.check_host()
    with lab_for_tests(config, reuse=reuse, keep=request.keep, say=say) as lab:
        outcomes = [run_family(lab, family, request, say) for family in request.families]
        code, notes = verdict(outcomes)
        (results / "summary.md").write_text(summary(lab, outcomes, notes))
    rows = all_rows(outcomes)
    print(f"\nToil's tests on lab {config.name!r}: {table.counts(rows)}")
    print(table.render(rows))
    for note in notes:
        print(f"note: {note}")
    print(f"(junit XML, pytest's output and the table in {results}; summary.md)")
    if code == 1:
        print(
            "Some of Toil's tests failed: a finding about Toil (the cause column), not a failure of the lab."
        )
    return code


def default_results(root: Path) -> Path:
    """test-results/toil-tests in the checkout."""
    return root / "test-results" / "toil-tests"
