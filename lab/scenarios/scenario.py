"""The form of a scenario: a Toil issue, a preparation, a run, observations, a verdict rule.

A scenario (one module in lab/scenarios/catalogue/) is a subclass of `Scenario`:

- `issue`, `batch_systems`, and `expected`: the verdict it gave on the Toil release it was
  written against (`WRITTEN_AGAINST`);
- `play(stage)`: prepares nodes through the stage (every change registers its undo with
  `stage.undo`), runs the workflow, and returns what it observed, as a plain dataclass of
  texts and numbers taken from ground truth (the jobs' own logs, squeue, the master's
  state, Toil's log, the exit code);
- `judge(observed)`: the verdict rule, a pure function of those observations, so that a
  unit test can feed it recorded samples of each outcome.

"reproduces": this Toil still has the bug. "fixed": it does not. "inconclusive": the setup
did not happen as intended (the preparation took no effect, the fault came too late); the
rule checks that first, from the observations too.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Literal, TypeVar

from lab.cluster import Lab
from lab.errors import ConfigError
from lab.node import Node
from lab.steps import Say

Verdict = Literal["reproduces", "fixed", "inconclusive"]
VERDICTS: tuple[Verdict, ...] = ("reproduces", "fixed", "inconclusive")
# The Toil release the catalogue's expected verdicts were recorded on.
WRITTEN_AGAINST = "9.6.0"
TRACKER = "https://github.com/DataBiosphere/toil/issues"


@dataclass(frozen=True)
class Issue:
    """The Toil issue a scenario is about, as its tracker showed it when the scenario was written."""

    number: int
    title: str  # one line
    state: Literal["open", "closed"]

    @property
    def url(self) -> str:
        return f"{TRACKER}/{self.number}"


@dataclass(frozen=True)
class Evidence:
    """Lines of ground truth that decided a verdict, and where they were read."""

    source: str  # e.g. "squeue after the kill", "the job's log, relayed by Toil's leader"
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    """A verdict, the one-line reason for it, and the evidence behind it."""

    verdict: Verdict
    reason: str
    evidence: tuple[Evidence, ...] = ()


def outcome(verdict: Verdict, reason: str, *evidence: tuple[str, Sequence[str]]) -> Outcome:
    """An Outcome from (source, lines) pairs; sources without lines are left out."""
    return Outcome(verdict, reason, tuple(Evidence(s, tuple(lines)) for s, lines in evidence if lines))


Seen = TypeVar("Seen")


@dataclass
class Stage:
    """What a scenario acts through: the lab, and the undo of every change it made to it.

    Undos run in reverse order when the scenario ends, however it ends; one that fails is
    reported and the others still run.
    """

    lab: Lab
    say: Say
    toil_args: tuple[str, ...] = ()  # the user's Toil options, added to every run of the scenario
    _undo: list[tuple[str, Callable[[], None]]] = field(default_factory=list)

    def leader(self) -> Node:
        return self.lab.leader()

    def worker(self, name: str) -> Node:
        return self.lab.node(name)

    def install(
        self, node: Node, path: str, text: str, *, mode: str = "644", also: Sequence[str] = ()
    ) -> None:
        """Put a file on a node (as root), removed again when the scenario ends, with `also`."""
        self.undo(f"remove {path} from {node.name}", lambda: _remove(node, path, *also))
        node.write_text(path, text, user="root")
        node.exec(["chmod", mode, path], user="root")

    def undo(self, what: str, action: Callable[[], None]) -> None:
        """Register how to undo a change just made (run when the scenario ends)."""
        self._undo.append((what, action))

    def restore(self) -> list[str]:
        """Run every undo, newest first; the ones that failed, with why."""
        failed = []
        while self._undo:
            what, action = self._undo.pop()
            try:
                action()
            except Exception as error:
                failed.append(f"{what}: {error}")
        return failed


class Scenario(abc.ABC, Generic[Seen]):
    """One Toil issue, reproduced on a lab (see the module's docstring for the form)."""

    name: ClassVar[str]  # e.g. "5177-walltime": the issue's number, then a word or two
    issue: ClassVar[Issue]
    batch_systems: ClassVar[tuple[str, ...]]
    expected: ClassVar[Verdict]  # the verdict on WRITTEN_AGAINST
    summary: ClassVar[str]  # what the scenario does, in a line
    observed: ClassVar[type[Any]]  # the dataclass `play` returns and `judge` reads

    @abc.abstractmethod
    def play(self, stage: Stage) -> Seen:
        """Prepare (registering undos on the stage), run, observe; what was observed."""

    @abc.abstractmethod
    def judge(self, observed: Seen) -> Outcome:
        """The verdict rule: decide from the observations alone."""

    def load(self, data: Mapping[str, Any]) -> Seen:
        """Observations recorded as JSON (by `record`), back as the scenario's dataclass."""
        names = {f.name for f in dataclasses.fields(self.observed)}
        unknown = set(data) - names
        if unknown:
            raise ConfigError(f"{self.name}: recorded observations have unknown fields {sorted(unknown)}")
        loaded: Seen = self.observed(**data)
        return loaded


def record(observed: object) -> dict[str, Any]:
    """Observations as JSON-ready data."""
    if not dataclasses.is_dataclass(observed) or isinstance(observed, type):
        raise TypeError(f"observations must be a dataclass instance, not {type(observed).__name__}")
    return dataclasses.asdict(observed)


@dataclass(frozen=True)
class Played:
    """A scenario run on a lab: its outcome, its observations, how long it took."""

    name: str
    batch_system: str
    toil: str  # the Toil the lab ran: a release, or a TOIL_SOURCE checkout
    outcome: Outcome
    expected: Verdict
    seconds: float
    observed: dict[str, Any]
    undo_failures: tuple[str, ...] = ()

    @property
    def as_expected(self) -> bool:
        return self.outcome.verdict == self.expected and not self.undo_failures


def play(
    scenario: Scenario[Any], stage: Stage, toil: str, clock: Callable[[], float] = time.monotonic
) -> Played:
    """Play a scenario on a stage, always undoing its changes; judge what it observed."""
    started = clock()
    with _restored(stage) as failures:
        observed = scenario.play(stage)
    judged = scenario.judge(observed)
    return Played(
        scenario.name,
        stage.lab.batch_system(),
        toil,
        judged,
        scenario.expected,
        clock() - started,
        record(observed),
        tuple(failures),
    )


def _remove(node: Node, *paths: str) -> None:
    node.exec(["rm", "-rf", "--", *paths], user="root")


@contextlib.contextmanager
def _restored(stage: Stage) -> Iterator[list[str]]:
    failures: list[str] = []
    try:
        yield failures
    finally:
        failures.extend(stage.restore())
        for failure in failures:
            stage.say(f"could not undo {failure}")
