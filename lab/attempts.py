"""What the fault tests' leaves did, from their own logs: attempts, finishes, doubles, reruns.

Each leaf of innode/workflows/leaves.py appends `start NODE PID TIME` when an
attempt begins and `done NODE PID TIME` when its body has finished, to its own log on
the shared volume. These lines are written by the jobs themselves, not by Toil or the
lab, so they can show what Toil's records cannot: a leaf whose body ran twice.

`expect_*` state what is true of each kind of fault; each returns the problems it
found (empty when the expectation holds), in words a person can check against the logs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Attempt:
    """One attempt of one leaf: a worker process that started its body."""

    leaf: int
    node: str
    pid: int
    started: float
    finished: float | None  # None: it never got to the end (killed, or still running)


def parse_attempts(logs: Mapping[int, Sequence[str]]) -> list[Attempt]:
    """Pair each leaf's start and done lines by (node, pid); torn or foreign lines are skipped."""
    found: list[Attempt] = []
    for leaf, lines in sorted(logs.items()):
        open_: dict[tuple[str, int], Attempt] = {}
        for line in lines:
            words = line.split()
            if len(words) != 4 or words[0] not in ("start", "done"):
                continue
            try:
                key, at = (words[1], int(words[2])), float(words[3])
            except ValueError:
                continue
            if words[0] == "start":
                open_[key] = Attempt(leaf, key[0], key[1], at, None)
            elif key in open_:
                started = open_.pop(key)
                found.append(Attempt(leaf, started.node, started.pid, started.started, at))
        found.extend(open_.values())
    return sorted(found, key=lambda a: (a.leaf, a.started))


@dataclass(frozen=True)
class Tally:
    """What a run's leaves did, counted."""

    leaves: int
    attempts: int  # attempts started
    finishes: int  # attempts that finished their body
    doubled: tuple[int, ...]  # leaves whose body finished more than once
    never_finished: tuple[int, ...]  # leaves whose body never finished
    rerun: tuple[int, ...]  # leaves started more than once
    rerun_after: float | None  # seconds from the fault to the first rerun (a leaf's later attempt) after it

    def words(self) -> str:
        """The tally as the recovery table and the tests say it."""
        doubled = ", ".join(f"leaf {leaf}" for leaf in self.doubled) or "none"
        return f"{self.attempts} attempts, {self.finishes} finishes, finished twice: {doubled}"


def tally(attempts: Sequence[Attempt], leaves: int, struck_at: float | None = None) -> Tally:
    """Count a run's attempts; `struck_at` (the fault's wall-clock time) dates the first rerun."""
    finishes = {leaf: sum(1 for a in attempts if a.leaf == leaf and a.finished) for leaf in range(leaves)}
    starts = {leaf: sum(1 for a in attempts if a.leaf == leaf) for leaf in range(leaves)}
    rerun = tuple(leaf for leaf, count in starts.items() if count > 1)
    firsts = {leaf: min(a.started for a in attempts if a.leaf == leaf) for leaf in rerun}
    after = [
        a.started - struck_at
        for a in attempts
        if struck_at is not None and a.leaf in firsts and a.started > firsts[a.leaf] and a.started > struck_at
    ]
    return Tally(
        leaves=leaves,
        attempts=len(attempts),
        finishes=sum(finishes.values()),
        doubled=tuple(leaf for leaf, count in finishes.items() if count > 1),
        never_finished=tuple(leaf for leaf, count in finishes.items() if count == 0),
        rerun=rerun,
        rerun_after=min(after) if after else None,
    )


def why_doubled(attempts: Sequence[Attempt], leaf: int) -> str:
    """Why a leaf's body finished twice, from its attempts' times."""
    done = sorted((a for a in attempts if a.leaf == leaf and a.finished), key=lambda a: a.started)
    first, second = done[0], done[1]
    assert first.finished is not None
    if first.finished > second.started:
        return (
            f"leaf {leaf}: its attempt on {first.node} (pid {first.pid}) finished at +"
            f"{first.finished - first.started:.1f} s, after its rerun on {second.node} had started: "
            "the first attempt was cut off, not stopped, and woke to finish"
        )
    return f"leaf {leaf}: rerun on {second.node} after its attempt on {first.node} had finished"


def expect_each_once(attempts: Sequence[Attempt], leaves: int) -> list[str]:
    """Every leaf started once and finished once (a fault no job should notice)."""
    problems = []
    for leaf in range(leaves):
        mine = [a for a in attempts if a.leaf == leaf]
        if len(mine) != 1 or mine[0].finished is None:
            problems.append(f"leaf {leaf} should have run once to the end; its attempts: {mine}")
    return problems


def expect_killed_and_rerun(
    attempts: Sequence[Attempt], leaves: int, victim: str, struck_at: float
) -> list[str]:
    """The attempts killed with `victim` started and never finished; each of their leaves started
    again after the fault on another node and finished there once; no other leaf ran twice."""
    problems = []
    killed = [a for a in attempts if a.node == victim and a.finished is None]
    if not killed:
        problems.append(f"no attempt on {victim} was cut short by the fault: {list(attempts)}")
    killed_leaves = {a.leaf for a in killed}
    for leaf in range(leaves):
        mine = [a for a in attempts if a.leaf == leaf]
        finished = [a for a in mine if a.finished is not None]
        if leaf in killed_leaves:
            again = [a for a in mine if a.started > struck_at]
            if len(finished) != 1 or not again or finished[0] not in again or finished[0].node == victim:
                problems.append(
                    f"leaf {leaf} was killed on {victim}: it should have started again after the fault on "
                    f"another node and finished there once; its attempts: {mine}"
                )
        elif len(mine) != 1 or len(finished) != 1:
            problems.append(f"leaf {leaf} was not on {victim} and should have run once; its attempts: {mine}")
    return problems


def finished_leaves(attempts: Sequence[Attempt]) -> list[int]:
    """The leaves whose body some attempt finished, in order."""
    return sorted({a.leaf for a in attempts if a.finished is not None})


def expect_each_at_least_once(attempts: Sequence[Attempt], leaves: int) -> list[str]:
    """Every leaf's body finished at least once (a leaf may finish twice: see why_doubled)."""
    finished = set(finished_leaves(attempts))
    return [f"leaf {leaf} never finished: {[a for a in attempts if a.leaf == leaf]}"
            for leaf in range(leaves) if leaf not in finished]  # fmt: skip


def expect_not_rerun(attempts: Sequence[Attempt], finished_before: Iterable[int]) -> list[str]:
    """Leaves that had finished before the fault did not run again."""
    problems = []
    for leaf in finished_before:
        mine = [a for a in attempts if a.leaf == leaf]
        if len(mine) != 1:
            problems.append(f"leaf {leaf} had finished before the fault but ran again: {mine}")
    return problems
