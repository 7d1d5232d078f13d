"""`lab scenario`: choose scenarios, give each a lab of its batch system, play it, report.

A scenario plays on the user's lab (LAB_NAME) when that lab is up on the scenario's batch
system, brought up to date first (a TOIL_SOURCE or TOIL_VERSION that changed rebuilds it),
and kept; otherwise on the scenarios' own lab of that batch system (SCENARIOS_LAB_NAME,
default toil-lab-scenarios, then -<batch system>), removed afterwards unless --keep.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lab import settings, startup
from lab.backends import NAMES as BATCH_SYSTEMS
from lab.cluster import Lab
from lab.config import LabConfig
from lab.errors import ConfigError
from lab.scenarios.catalogue import SCENARIOS
from lab.scenarios.scenario import WRITTEN_AGAINST, Played, Scenario, Stage, play
from lab.steps import Say, print_line

DEFAULT_LAB_NAME = "toil-lab-scenarios"
NO_MESOS = (
    "the Mesos scenarios need a Mesos build: `make mesos` builds one (40-70 min, once), or set "
    "MESOS_PACKAGE; or run the Slurm ones alone (--batch-systems slurm)"
)


@dataclass(frozen=True)
class Request:
    """What `lab scenario` was asked."""

    names: tuple[str, ...]  # scenario names; empty: every scenario
    batch_systems: tuple[str, ...]  # empty: each scenario's own, Mesos where there is a build
    toil_args: tuple[str, ...] = ()
    results: Path = Path("test-results/scenarios")
    keep: bool = False


def find(name: str) -> Scenario[Any]:
    """The scenario of this name (or of this issue number), or a clear error listing them."""
    for scenario in SCENARIOS:
        if name in (scenario.name, str(scenario.issue.number)):
            return scenario
    known = ", ".join(s.name for s in SCENARIOS)
    raise ConfigError(f"no scenario {name!r}; the catalogue (`lab scenario list`): {known}")


def chosen(request: Request) -> list[Scenario[Any]]:
    """The scenarios a request names (all of them when it names none)."""
    return [find(name) for name in request.names] if request.names else list(SCENARIOS)


def plan(request: Request, env: Mapping[str, str]) -> list[tuple[Scenario[Any], str]]:
    """(scenario, batch system) pairs to play, in catalogue order, grouped by batch system."""
    for system in request.batch_systems:
        if system not in BATCH_SYSTEMS:
            raise ConfigError(f"--batch-systems: {system!r} is not one of {', '.join(BATCH_SYSTEMS)}")
    systems = request.batch_systems or available(env)
    pairs = [(s, system) for system in systems for s in chosen(request) if system in s.batch_systems]
    if not pairs:
        raise ConfigError(
            f"none of {', '.join(s.name for s in chosen(request))} applies to {', '.join(systems)}: "
            "`lab scenario list` shows each scenario's batch systems"
        )
    return pairs


def available(env: Mapping[str, str]) -> tuple[str, ...]:
    """Slurm, and Mesos where there is a Mesos build."""
    mesos = settings.has_mesos_build(env, own_name(env, "mesos"))
    return ("slurm", "mesos") if mesos else ("slurm",)


def own_name(env: Mapping[str, str], batch_system: str) -> str:
    """The scenarios' own lab of a batch system."""
    return f"{env.get('SCENARIOS_LAB_NAME') or DEFAULT_LAB_NAME}-{batch_system}"


def lab_for(users: LabConfig, env: Mapping[str, str], batch_system: str) -> LabConfig:
    """The user's lab when it is up on this batch system, else the scenarios' own."""
    running = Lab(users)  # is_up lists its containers once; running_batch_system then remembers
    if running.is_up() and running.running_batch_system() == batch_system:
        return settings.lab_config(env, name=users.name, batch_system=batch_system)
    config = settings.lab_config(env, name=own_name(env, batch_system), batch_system=batch_system)
    if batch_system == "mesos" and config.mesos_package is None:
        raise ConfigError(NO_MESOS)
    return config


def toil_of(config: LabConfig) -> str:
    """The Toil a lab runs, in words."""
    return f"TOIL_SOURCE {config.toil_source}" if config.toil_source else f"Toil {config.toil_version}"


def run(users: LabConfig, env: Mapping[str, str], request: Request, say: Say = print_line) -> int:
    """Play the scenarios asked; print each verdict with its evidence, and the table; the exit code."""
    pairs = plan(request, env)
    systems = tuple(dict.fromkeys(system for _, system in pairs))
    for left in [s for s in chosen(request) if s not in {scenario for scenario, _ in pairs}]:
        hint = f"; {NO_MESOS}" if "mesos" in left.batch_systems and not request.batch_systems else ""
        say(
            f"not played: {left.name} is for {', '.join(left.batch_systems)}, "
            f"this run plays on {', '.join(systems)}{hint}"
        )
    played: list[Played] = []
    for system in systems:
        config = lab_for(users, env, system)
        policy = startup.Policy(keep=request.keep, keep_if_up=True)
        with startup.running_lab(config, policy, say=say) as lab:
            for scenario, _ in [pair for pair in pairs if pair[1] == system]:
                say(
                    f"scenario {scenario.name} on {lab.config.name} ({system}, {toil_of(config)}): "
                    f"{scenario.summary}"
                )
                stage = Stage(lab, say, tuple(request.toil_args))
                done = play(scenario, stage, toil_of(config))
                print(report(scenario, done), flush=True)
                save(request.results, done)
                played.append(done)
    print(table(played))
    print(f"\n(observations and verdicts: {request.results}/)")
    return 0 if all(p.as_expected for p in played) else 1


def report(scenario: Scenario[Any], done: Played) -> str:
    """A scenario's verdict, its reason, and the evidence, as printed."""
    mark = "as expected" if done.as_expected else f"NOT as recorded for Toil {WRITTEN_AGAINST}"
    lines = [
        f"\n{scenario.name}: Toil #{scenario.issue.number} ({scenario.issue.state}) {scenario.issue.title}",
        f"  verdict: {done.outcome.verdict} on {done.batch_system} with {done.toil}, in {done.seconds:.0f} s "
        f"(on Toil {WRITTEN_AGAINST}: {done.expected}; {mark})",
        f"  because: {done.outcome.reason}",
    ]
    for evidence in done.outcome.evidence:
        lines.append(f"  evidence, {evidence.source}:")
        lines += [f"    | {line}" for line in evidence.lines]
    lines += [f"  could not undo: {failure}" for failure in done.undo_failures]
    return "\n".join(lines)


def table(played: Sequence[Played]) -> str:
    """One row per scenario played."""
    rows = [("scenario", "batch system", "verdict", f"on {WRITTEN_AGAINST}", "seconds")]
    rows += [(p.name, p.batch_system, p.outcome.verdict, p.expected, f"{p.seconds:.0f}") for p in played]
    return "\n" + columns(rows)


def save(folder: Path, done: Played) -> Path:
    """Keep a scenario's observations and verdict as JSON (the unit tests' samples are such files)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{done.name}-{done.batch_system}.json"
    path.write_text(json.dumps(asdict(done), indent=2) + "\n")
    return path


def listing() -> str:
    """`lab scenario list`: the catalogue."""
    rows = [("scenario", "Toil issue", "batch systems", f"on {WRITTEN_AGAINST}", "what it does")]
    for s in SCENARIOS:
        rows.append(
            (s.name, f"#{s.issue.number} ({s.issue.state})", ",".join(s.batch_systems), s.expected, s.summary)
        )
    return columns(rows)


def columns(rows: Sequence[Sequence[str]]) -> str:
    """Rows as aligned columns (the last one unpadded)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join(
        "  ".join([*(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)), row[-1]])
        for row in rows
    )
