"""Toil #5452: one bad worker burned a job's retries in under a minute.

A job that failed on a node that rejected every job was retried at once, on the same
node, until it had no tries left. PR #5458 made the leader wait between retries
(`--retryBackoffSeconds` 2, times `--retryBackoffFactor` 3 each time: 2, 6, 18 s).

Preparation: worker-1 refuses every Toil job for BAD_SECONDS from the first one it sees: a
`_toil_worker` ahead of Toil's on its PATH (/usr/local/sbin) exits 1, writing a line for each
job it refused, then hands over to Toil's own. The run is pinned to worker-1 (its own
partition) with `--retryCount 3`: four tries, which back-off spreads over 26 s.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass

from innode.layout import DATA_DIR, LAB_USER
from lab.scenarios import evidence
from lab.scenarios.scenario import Issue, Outcome, Scenario, Stage, outcome

BAD_NODE = "worker-1"
BAD_SECONDS = 15
RETRY_COUNT = 3
SHIM = "/usr/local/sbin/_toil_worker"
REAL = "/usr/local/bin/_toil_worker"
RUN_TIMEOUT = 240.0


def shim(log: str, since: str, seconds: int) -> str:
    """The bad worker's `_toil_worker`: refuse for `seconds` from the first job, then Toil's own."""
    return f"""#!/bin/sh
# toil-lab scenario 5452: this node refuses Toil jobs for {seconds} s from the first one.
now=$(date +%s.%N)
[ -e {since} ] || echo "$now" > {since}
if awk -v now="$now" -v since="$(cat {since})" 'BEGIN {{ exit !(now < since + {seconds}) }}'; then
  echo "refused $(hostname) $$ $now" >> {log}
  exit 1
fi
echo "passed $(hostname) $$ $now" >> {log}
exec {REAL} "$@"
"""


@dataclass(frozen=True)
class Observed:
    node_lines: list[str]  # the bad node's own lines: 'refused|passed NODE PID TIME'
    waits: list[str]  # the leader's "Waiting N seconds to retry job" lines
    exit_code: int | None
    leaf_lines: list[str]  # the leaf's own record


def gaps(lines: list[str], word: str = "refused") -> list[float]:
    """Seconds between successive lines of one kind (their last word is the time)."""
    times = [float(line.split()[-1]) for line in lines if line.startswith(word + " ")]
    return [round(b - a, 1) for a, b in itertools.pairwise(times)]


class BadWorkerBurnsRetries(Scenario[Observed]):
    name = "5452-retry-backoff"
    issue = Issue(
        5452,
        "One bad Slurm node can consume all your retries in under a minute and fail your workflow, "
        "requiring a manual restart",
        "closed",
    )
    batch_systems = ("slurm",)
    expected = "fixed"
    summary = (
        f"{BAD_NODE} refuses every job for {BAD_SECONDS} s; a pinned run with --retryCount {RETRY_COUNT}"
    )
    observed = Observed

    def play(self, stage: Stage) -> Observed:
        node = stage.worker(BAD_NODE)
        folder = f"{DATA_DIR}/scenarios/5452-{uuid.uuid4().hex[:8]}"
        log, since = f"{folder}/node.log", f"/tmp/toil-lab-5452-{uuid.uuid4().hex[:8]}"
        stage.leader().exec(["mkdir", "-p", folder], user=LAB_USER)
        stage.install(node, SHIM, shim(log, since, BAD_SECONDS), mode="755", also=[since])
        with stage.lab.pinned(BAD_NODE) as pin:
            run = evidence.leaves(stage, leaves=1, seconds=1, extra=[*pin, "--retryCount", str(RETRY_COUNT)])
            result = run.wait(RUN_TIMEOUT)
        output = result.stdout + result.stderr
        return Observed(
            node_lines=(node.read_text(log) or "").splitlines(),
            waits=evidence.leader_lines(output, ("seconds to retry job",)),
            exit_code=result.returncode,
            leaf_lines=evidence.leaf_lines(run, 0),
        )

    def judge(self, observed: Observed) -> Outcome:
        node = (f"{BAD_NODE}'s own record of the jobs it got", observed.node_lines)
        refused = [line for line in observed.node_lines if line.startswith("refused ")]
        if not refused:
            return outcome("inconclusive", f"{BAD_NODE} refused no job: the bad node was never tried", node)
        waits = ("Toil's leader", observed.waits)
        spread = gaps(observed.node_lines)
        leaf_done = any(line.startswith("done ") for line in observed.leaf_lines)
        if observed.exit_code == 0 and leaf_done:
            return outcome(
                "fixed",
                f"{len(refused)} tries refused {spread} s apart, then the job ran once the node was good",
                node,
                waits,
            )
        if len(refused) >= RETRY_COUNT + 1:
            return outcome(
                "reproduces",
                f"all {len(refused)} tries went to the bad node within {sum(spread):g} s, inside its "
                f"{BAD_SECONDS} s bad spell, and the run failed",
                node,
                waits,
            )
        return outcome(
            "inconclusive",
            f"the run failed (exit {observed.exit_code}) after {len(refused)} refused tries: another cause",
            node,
            waits,
        )
