"""lab/steps.py: one line per step with its time; progress on a terminal or now and then."""

from __future__ import annotations

import io

import pytest

from lab.steps import PROGRESS_EVERY, Steps


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_step_prints_one_line_with_its_outcome_and_time() -> None:
    out = io.StringIO()
    clock = Clock()
    steps = Steps(out, tty=False, clock=clock)
    with steps.step("node image") as step:
        clock.now += 2.5
        step.outcome = "built toil-lab/node:x"
    assert out.getvalue() == "lab: ✓ node image: built toil-lab/node:x (2.5 s)\n"
    assert steps.timings == [("node image", 2.5)]


def test_a_failed_step_is_marked_and_its_error_passes_on() -> None:
    out = io.StringIO()
    steps = Steps(out, tty=False)
    with pytest.raises(RuntimeError, match="no daemon"), steps.step("checks"):
        raise RuntimeError("no daemon")
    assert out.getvalue().startswith("lab: ✗ checks (")
    assert steps.timings == []


def test_progress_off_a_terminal_is_shown_now_and_then() -> None:
    out = io.StringIO()
    clock = Clock()
    with Steps(out, tty=False, clock=clock).step("runtime image") as step:
        step.progress("step 1/14: FROM debian")  # too soon after the start: not shown
        clock.now += PROGRESS_EVERY
        step.progress("step 5/14: RUN apt-get update")
        step.progress("step 6/14: ARG LAB_UID")  # too soon after the last one
    lines = out.getvalue().splitlines()
    assert lines[0] == f"lab: … runtime image: step 5/14: RUN apt-get update ({PROGRESS_EVERY:.0f} s)"
    assert lines[1].startswith("lab: ✓ runtime image")
    assert len(lines) == 2


def test_progress_on_a_terminal_rewrites_the_steps_line() -> None:
    out = io.StringIO()
    with Steps(out, tty=True).step("node image") as step:
        step.progress("step 19/22: COPY innode")
    assert out.getvalue().startswith("\r\033[Klab: … node image: step 19/22: COPY innode")
    assert "\r\033[Klab: ✓ node image" in out.getvalue()
