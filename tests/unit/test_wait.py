"""lab/wait.py: the one polling helper, on a fake clock (nothing sleeps)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

import pytest

from lab.errors import CommandFailed, LabError, NotReady
from lab.wait import Check, wait_until


class FakeTime:
    """A clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def script(observations: Iterable[Check[int] | Exception]) -> tuple[Callable[[], Check[int]], list[int]]:
    """A check that returns (or raises) each observation in turn, then repeats the last."""
    items = list(observations)
    calls: list[int] = []

    def check() -> Check[int]:
        calls.append(len(calls))
        item = items[min(len(calls) - 1, len(items) - 1)]
        if isinstance(item, Exception):
            raise item
        return item

    return check, calls


def test_succeeds_on_the_nth_check_and_reports_changes_only() -> None:
    time = FakeTime()
    check, calls = script(
        [
            Check(False, "0/3 workers ready", 0),
            Check(False, "0/3 workers ready", 0),
            Check(False, "1/3 workers ready", 1),
            Check(False, "1/3 workers ready", 1),
            Check(True, "3/3 workers ready", 3),
        ]
    )
    seen: list[str] = []
    result = wait_until(
        check,
        what="workers",
        timeout=60,
        interval=0.5,
        progress=lambda c: seen.append(c.detail),
        clock=time.clock,
        sleep=time.sleep,
    )
    assert result == Check(True, "3/3 workers ready", 3)
    assert len(calls) == 5
    assert time.sleeps == [0.5, 0.5, 0.5, 0.5]
    assert seen == ["0/3 workers ready", "1/3 workers ready", "3/3 workers ready"]


def test_ready_at_once_does_not_sleep() -> None:
    time = FakeTime()
    check, calls = script([Check(True, "up", 1)])
    assert wait_until(check, what="x", timeout=5, clock=time.clock, sleep=time.sleep).value == 1
    assert (len(calls), time.sleeps) == (1, [])


def test_success_with_an_already_shown_detail_is_not_shown_again() -> None:
    time = FakeTime()
    check, _ = script([Check(False, "same", 0), Check(True, "same", 1)])
    seen: list[str] = []
    wait_until(
        check,
        what="x",
        timeout=5,
        progress=lambda c: seen.append(c.detail),
        clock=time.clock,
        sleep=time.sleep,
    )
    assert seen == ["same"]


def test_a_check_that_raises_counts_as_not_yet() -> None:
    time = FakeTime()
    refused = CommandFailed(["docker", "exec", "x", "scontrol", "ping"], 1, "", "Connection refused")
    check, calls = script(
        [
            refused,
            json.JSONDecodeError("Expecting value", "", 0),
            Check(False, "starting", 0),
            Check(True, "up", 1),
        ]
    )
    seen: list[str] = []
    result = wait_until(
        check,
        what="x",
        timeout=5,
        progress=lambda c: seen.append(c.detail),
        clock=time.clock,
        sleep=time.sleep,
    )
    assert result.detail == "up"
    assert len(calls) == 4
    assert seen == ["starting", "up"]


@pytest.mark.parametrize("fault", [KeyError("worker-3"), TypeError("'NoneType' is not subscriptable")])
def test_a_fault_in_the_check_itself_surfaces_at_once(fault: Exception) -> None:
    time = FakeTime()
    check, calls = script([Check(False, "starting", 0), fault])
    with pytest.raises(type(fault)):
        wait_until(check, what="x", timeout=180, clock=time.clock, sleep=time.sleep)
    assert len(calls) == 2
    assert time.sleeps == [0.25]


def test_timeout_raises_not_ready_with_the_last_detail_and_diagnostics() -> None:
    time = FakeTime()
    check, calls = script(
        [Check(False, "0/3 workers ready", 0), Check(False, "2/3 workers ready (worker-3=down*)", 2)]
    )
    given: list[Check[int] | None] = []

    def diagnostics(last: Check[int] | None) -> str:
        given.append(last)
        return "--- logs of worker-3 (last 30 lines) ---\nslurmd: error: Unable to contact slurm controller"

    with pytest.raises(NotReady) as error:
        wait_until(
            check,
            what="3 workers to register with slurmctld",
            timeout=2,
            interval=0.5,
            diagnostics=diagnostics,
            clock=time.clock,
            sleep=time.sleep,
        )
    message = str(error.value)
    assert message.startswith(
        "timed out after 2s waiting for 3 workers to register with slurmctld; "
        "last seen: 2/3 workers ready (worker-3=down*)"
    )
    assert message.endswith("slurmd: error: Unable to contact slurm controller")
    assert "last check failed" not in message
    assert given == [Check(False, "2/3 workers ready (worker-3=down*)", 2)]
    # Polled up to the deadline and no further: checks at +0, +0.5, ..., +2.0.
    assert len(calls) == 5
    assert time.sleeps == [0.5] * 4
    assert time.now == 1002.0


def test_timeout_reports_the_failing_checks_exception() -> None:
    time = FakeTime()
    check, _ = script([Check(False, "leader container is created", 0), LabError("scontrol: not found")])
    with pytest.raises(NotReady) as error:
        wait_until(check, what="the leader", timeout=1, clock=time.clock, sleep=time.sleep)
    message = str(error.value)
    assert "last seen: leader container is created" in message
    assert message.endswith("\nlast check failed: scontrol: not found")


def test_timeout_when_nothing_was_ever_observed() -> None:
    time = FakeTime()
    check, _ = script([LabError("docker: connection refused")])
    with pytest.raises(NotReady) as error:
        wait_until(
            check, what="the leader", timeout=1, clock=time.clock, sleep=time.sleep, diagnostics=lambda _: ""
        )
    assert str(error.value).startswith(
        "timed out after 1s waiting for the leader; nothing observed\n"
        "last check failed: docker: connection refused"
    )


def test_broken_diagnostics_do_not_hide_the_timeout() -> None:
    time = FakeTime()
    check, _ = script([Check(False, "waiting", 0)])

    def diagnostics(last: Check[int] | None) -> str:
        raise RuntimeError("docker logs failed")

    with pytest.raises(NotReady) as error:
        wait_until(check, what="x", timeout=1, diagnostics=diagnostics, clock=time.clock, sleep=time.sleep)
    assert "last seen: waiting" in str(error.value)
    assert str(error.value).endswith("(diagnostics unavailable: docker logs failed)")


def test_errors_that_are_not_exceptions_propagate() -> None:
    time = FakeTime()

    def check() -> Check[int]:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        wait_until(check, what="x", timeout=5, clock=time.clock, sleep=time.sleep)
    assert time.sleeps == []


def test_a_growing_pause_starts_short_and_stops_at_its_ceiling() -> None:
    time = FakeTime()
    check, calls = script([Check(False, "not yet", 0)] * 8 + [Check(True, "ready", 1)])
    wait_until(
        check, what="x", timeout=60, interval=0.1, max_interval=0.3, clock=time.clock, sleep=time.sleep
    )
    assert len(calls) == 9
    assert time.sleeps == pytest.approx([0.1, 0.15, 0.225, 0.3, 0.3, 0.3, 0.3, 0.3])


def test_a_growing_pause_still_times_out_with_the_last_detail() -> None:
    time = FakeTime()
    check, calls = script([Check(False, "1/3 workers ready", 1)])
    with pytest.raises(
        NotReady, match="timed out after 10s waiting for workers; last seen: 1/3 workers ready"
    ):
        wait_until(
            check,
            what="workers",
            timeout=10,
            interval=0.1,
            max_interval=1.0,
            clock=time.clock,
            sleep=time.sleep,
        )
    assert max(time.sleeps) == 1.0
    assert len(calls) < 20  # at a fixed 0.1 s it would have asked about 100 times
