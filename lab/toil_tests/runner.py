"""`lab toil-tests`: Toil's own tests, unmodified, against a Mesos or Slurm lab; a table of what they came to.

The appliance and Mesos families run on a Mesos lab, the Slurm family on a Slurm lab; one
run uses one lab, so the families asked must share a batch system (`all`: the families of
the lab's batch system). The lab is the toil-tests' own (TOIL_TESTS_LAB_NAME, default
toil-lab-toiltests; with -slurm on Slurm), brought up for the run (or found up and left so)
and removed after unless --keep; or, with LAB_REUSE=1, the running LAB_NAME lab when it
runs that batch system. The Mesos build is MESOS_PACKAGE, or the one the LAB_NAME lab (then
the toil-tests lab) remembers from its last `lab up`, or the newest `make mesos` built;
without one, `all` is the Slurm family. The Toil is the lab's: TOIL_VERSION, or the
TOIL_SOURCE checkout built into its image.

A failing Toil test is a finding about Toil, not a failure of the lab: the exit code is 1,
and the table says what failed and why. An exit code of 2 means the tests could not run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lab import settings, startup
from lab.cluster import Lab
from lab.config import LabConfig
from lab.errors import LabError
from lab.steps import Say, print_line
from lab.toil_tests import appliance_family, families, mesos_family, slurm_family, table
from lab.toil_tests.families import INTERRUPTED, NONE_SELECTED, Family, Outcome

DEFAULT_LAB_NAME = "toil-lab-toiltests"
# Toil's test_slurm_node_memory asks a whole node's memory (--slurmDefaultAllMem) and
# asserts more than 3 GiB, "assuming Slurm nodes of reasonable size": the Slurm family's
# own lab has workers of 4 GiB (Slurm's RealMemory 3968 MiB) unless WORKER_MEMORY says.
SLURM_WORKER_MEMORY_MB = 4096
NO_MESOS = (
    "Toil's tests need a Mesos lab, and there is no Mesos build: run `make mesos` once (it builds Mesos "
    "from source), or set MESOS_PACKAGE to a Mesos .deb or install-tree .tar.gz (docs/mesos.md)"
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


def batch_system_of(family: str, users: LabConfig, env: Mapping[str, str]) -> str:
    """The batch system of the lab a --family value runs on."""
    if family != families.ALL:
        return families.choose(family)[0].batch_system
    running = Lab(users).running_batch_system() if env.get("LAB_REUSE") == "1" else None
    if running is not None:
        return running
    own = env.get("TOIL_TESTS_LAB_NAME") or DEFAULT_LAB_NAME
    return "mesos" if settings.has_mesos_build(env, own) else "slurm"


def tests_config(
    users: LabConfig, env: Mapping[str, str], batch_system: str = "mesos"
) -> tuple[LabConfig, bool]:
    """The lab to run on, and whether it is the user's running lab (`users`, with LAB_REUSE=1)."""
    own = env.get("TOIL_TESTS_LAB_NAME") or DEFAULT_LAB_NAME
    own = own if batch_system == "mesos" else f"{own}-{batch_system}"
    config, reuse = settings.suite_lab(users, env, own=own, batch_system=batch_system, no_mesos=NO_MESOS)
    if batch_system == "slurm" and not reuse:
        if config.cwl is None:
            config = dataclasses.replace(config, cwl=True)  # test_slurm_node_memory runs toil-cwl-runner
        if not env.get("WORKER_MEMORY"):
            config = dataclasses.replace(config, worker_memory_mb=SLURM_WORKER_MEMORY_MB)
    return config, reuse


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
    if family.name == "slurm":
        return slurm_family.run(lab, request.pytest_args, results, say)
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
    where = f"MESOS_PACKAGE={config.mesos_package}" if lab.batch_system() == "mesos" else "Slurm"
    lines = [
        f"# Toil's own tests on lab {config.name!r}",
        "",
        f"{toil}; {where}; {table.counts(rows)}.",
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
    # The user's lab as it is (reuse), else this run's own: brought up (made, or brought up to
    # date), removed after unless --keep or it was up before.
    policy = startup.Policy(reuse=reuse, keep=request.keep, keep_if_up=True)
    with startup.running_lab(config, policy, say=say) as lab:
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
