"""What a Toil appliance test leaves on the lab's shared /data, and its removal: that, and only that.

Toil's appliance tests mount a fresh host folder at /data and, when done, empty it. On the
lab, /data is the shared job-store volume every node mounts, which also holds the lab's
own job stores (/data/jobstores) and shared workflows (/data/workflows). So before a test
the plugin notes what /data holds, in a ledger on /data itself, and after it removes only
the entries that appeared since, never the lab's own. A ledger still there before the
next test means an earlier test was interrupted: what appeared since that ledger was
written is that test's, and goes first.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

from innode.layout import DATA_DIR, JOBSTORES_DIR, SHARED_WORKFLOWS_DIR
from lab.node import Node

LEDGER_NAME = ".toil-tests-before"
LEDGER = f"{DATA_DIR}/{LEDGER_NAME}"
LEDGER_HEADER = "# what /data held before a `lab toil-tests` appliance test (lab/toil_tests/leftovers.py)"
# Entries of /data that belong to the lab, whoever made them and whenever.
LAB_OWNED = frozenset(
    {posixpath.basename(JOBSTORES_DIR), posixpath.basename(SHARED_WORKFLOWS_DIR), LEDGER_NAME}
)


def listing(leader: Node) -> set[str]:
    """The names in /data now."""
    return set(leader.exec(["ls", "-A", DATA_DIR]).stdout.splitlines())


def made_since(before: Iterable[str], now: Iterable[str]) -> list[str]:
    """Entries of /data that appeared since `before`, the lab's own left out."""
    return sorted(set(now) - set(before) - LAB_OWNED)


def remove(leader: Node, names: Iterable[str]) -> list[str]:
    """Delete these entries of /data (as root: a job may have written them as another user)."""
    paths = [f"{DATA_DIR}/{name}" for name in names if name and "/" not in name and name not in (".", "..")]
    if paths:
        leader.exec(["rm", "-rf", "--", *paths], user="root")
    return paths


def begin(leader: Node) -> tuple[set[str], list[str]]:
    """Before a test: clear what an interrupted test left, note what /data holds; (that, what was cleared)."""
    cleared: list[str] = []
    ledger = leader.read_text(LEDGER)
    if ledger is not None and ledger.startswith(LEDGER_HEADER):
        cleared = remove(leader, made_since(ledger.splitlines()[1:], listing(leader)))
    before = listing(leader) - {LEDGER_NAME}
    leader.write_text(LEDGER, "\n".join([LEDGER_HEADER, *sorted(before)]) + "\n")
    return before, cleared


def end(leader: Node, before: set[str]) -> list[str]:
    """After a test: remove what appeared in /data since `before`, then the ledger; what was removed."""
    removed = remove(leader, made_since(before, listing(leader)))
    leader.exec(["rm", "-f", LEDGER], user="root")
    return removed
