"""lab/attempts.py: what the leaves did, from their own logs; each fault's expectation can fail."""

from __future__ import annotations

from lab import attempts
from lab.attempts import Attempt

STRUCK = 200.0
# Three leaves; worker-2 is killed at 200 while leaf 1 runs there; leaf 1 runs again on worker-3.
KILLED = {
    0: ["start worker-1 10 100.0", "done worker-1 10 112.0"],
    1: ["start worker-2 11 195.0", "start worker-3 20 230.0", "done worker-3 20 242.0"],
    2: ["start worker-3 12 101.0", "done worker-3 12 113.0"],
}


def test_parse_pairs_start_and_done_by_process() -> None:
    found = attempts.parse_attempts(KILLED)
    assert found == [
        Attempt(0, "worker-1", 10, 100.0, 112.0),
        Attempt(1, "worker-2", 11, 195.0, None),
        Attempt(1, "worker-3", 20, 230.0, 242.0),
        Attempt(2, "worker-3", 12, 101.0, 113.0),
    ]


def test_parse_skips_torn_and_foreign_lines() -> None:
    found = attempts.parse_attempts(
        {0: ["start worker-1 10 100.0", "done worker-1 1", "noise", "done worker-1 10 1x"]}
    )
    assert found == [Attempt(0, "worker-1", 10, 100.0, None)]


def test_tally_of_a_kill() -> None:
    counted = attempts.tally(attempts.parse_attempts(KILLED), 3, STRUCK)
    assert (counted.attempts, counted.finishes, counted.doubled, counted.rerun) == (4, 3, (), (1,))
    assert counted.rerun_after == 30.0
    assert counted.words() == "4 attempts, 3 finishes, finished twice: none"


def test_the_kill_expectation_holds_for_a_kill() -> None:
    assert attempts.expect_killed_and_rerun(attempts.parse_attempts(KILLED), 3, "worker-2", STRUCK) == []


def test_a_deliberately_doubled_leaf_makes_the_kill_expectation_fail() -> None:
    doubled = {**KILLED, 2: [*KILLED[2], "start worker-1 30 231.0", "done worker-1 30 243.0"]}
    problems = attempts.expect_killed_and_rerun(attempts.parse_attempts(doubled), 3, "worker-2", STRUCK)
    assert len(problems) == 1 and problems[0].startswith(
        "leaf 2 was not on worker-2 and should have run once"
    )


def test_a_rerun_on_the_killed_node_itself_makes_the_kill_expectation_fail() -> None:
    same_node = {
        **KILLED,
        1: ["start worker-2 11 195.0", "start worker-2 40 230.0", "done worker-2 40 242.0"],
    }
    problems = attempts.expect_killed_and_rerun(attempts.parse_attempts(same_node), 3, "worker-2", STRUCK)
    assert problems and problems[0].startswith("leaf 1 was killed on worker-2")


def test_a_kill_that_cut_nothing_short_fails() -> None:
    nothing = {leaf: [*lines[:1], "done " + lines[0][6:]] for leaf, lines in KILLED.items()}
    problems = attempts.expect_killed_and_rerun(attempts.parse_attempts(nothing), 3, "worker-2", STRUCK)
    assert problems[0].startswith("no attempt on worker-2 was cut short by the fault")


def test_each_once_holds_only_when_every_leaf_ran_once_to_the_end() -> None:
    once = {0: ["start worker-1 10 1.0", "done worker-1 10 2.0"]}
    assert attempts.expect_each_once(attempts.parse_attempts(once), 1) == []
    assert attempts.expect_each_once(attempts.parse_attempts(KILLED), 3)[0].startswith(
        "leaf 1 should have run once"
    )
    assert attempts.expect_each_once([], 1)[0].startswith("leaf 0 should have run once")


def test_at_least_once_and_the_reason_a_leaf_finished_twice() -> None:
    # A frozen attempt on worker-1 woke after its rerun on worker-2 had started, and finished too.
    paused = {
        0: [
            "start worker-1 10 100.0",
            "start worker-2 20 140.0",
            "done worker-1 10 150.0",
            "done worker-2 20 152.0",
        ]
    }
    found = attempts.parse_attempts(paused)
    assert attempts.expect_each_at_least_once(found, 1) == []
    assert attempts.tally(found, 1, 120.0).doubled == (0,)
    reason = attempts.why_doubled(found, 0)
    assert reason.startswith("leaf 0: its attempt on worker-1 (pid 10) finished at +50.0 s, after its rerun")
    assert attempts.expect_each_at_least_once(found, 2) == [f"leaf 1 never finished: {[]}"]


def test_not_rerun_after_a_leader_kill() -> None:
    found = attempts.parse_attempts(KILLED)
    assert attempts.expect_not_rerun(found, [0, 2]) == []
    assert attempts.expect_not_rerun(found, [1])[0].startswith(
        "leaf 1 had finished before the fault but ran again"
    )


def test_an_attempt_that_began_as_the_fault_struck_is_killed_too_and_no_rerun() -> None:
    # Leaf 1's attempt on worker-2 logged its start 26 ms after the fault's time was taken.
    raced = {
        0: ["start worker-1 10 100.0", "done worker-1 10 112.0"],
        1: ["start worker-2 11 200.026", "start worker-3 20 217.3", "done worker-3 20 229.3"],
    }
    found = attempts.parse_attempts(raced)
    assert attempts.expect_killed_and_rerun(found, 2, "worker-2", STRUCK) == []
    counted = attempts.tally(found, 2, STRUCK)
    assert counted.rerun_after is not None and round(counted.rerun_after, 1) == 17.3


def test_finished_leaves_are_those_some_attempt_finished_in_order() -> None:
    seen = [
        Attempt(2, "worker-1", 10, 100.0, 112.0),
        Attempt(0, "worker-2", 11, 100.0, None),
        Attempt(0, "worker-3", 12, 120.0, 132.0),
        Attempt(1, "worker-1", 13, 100.0, None),
        Attempt(2, "worker-2", 14, 120.0, 131.0),
    ]
    assert attempts.finished_leaves(seen) == [0, 2]
    assert attempts.finished_leaves([]) == []
