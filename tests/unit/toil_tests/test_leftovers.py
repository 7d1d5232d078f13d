"""lab/toil_tests/leftovers.py: a test's teardown removes what it left in /data, never the lab's own."""

from __future__ import annotations

from typing import Any

from lab.process import Result
from lab.toil_tests import leftovers
from lab.toil_tests.leftovers import LEDGER, LEDGER_HEADER


class SharedData:
    """A leader whose /data is a set of names; records every command."""

    def __init__(self, names: set[str], ledger: str = "") -> None:
        self.names = set(names)
        self.ledger = ledger
        self.commands: list[tuple[list[str], str | None]] = []

    def exec(self, argv: list[str], *, user: str | None = None, check: bool = True, **_: Any) -> Result:
        self.commands.append((list(argv), user))
        if argv[:2] == ["ls", "-A"]:
            shown = self.names | ({".toil-tests-before"} if self.ledger else set())
            return Result(tuple(argv), 0, "".join(f"{n}\n" for n in sorted(shown)), "")
        if argv[:2] == ["rm", "-rf"]:
            self.names -= {path.removeprefix("/data/") for path in argv[3:]}
        if argv == ["rm", "-f", LEDGER]:
            self.ledger = ""
        return Result(tuple(argv), 0, "", "")

    def read_text(self, path: str) -> str | None:
        assert path == LEDGER
        return self.ledger or None

    def write_text(self, path: str, text: str, *, user: str = "lab") -> None:
        assert path == LEDGER
        self.ledger = text


def test_made_since_leaves_the_labs_own_entries() -> None:
    before = {"jobstores"}
    now = {"jobstores", "workflows", "jobstore", "foo.txt", ".toil-tests-before"}
    assert leftovers.made_since(before, now) == ["foo.txt", "jobstore"]


def test_a_test_removes_what_it_made_and_nothing_else() -> None:
    data = SharedData({"jobstores", "mine.txt"})
    before, cleared = leftovers.begin(data)
    assert (before, cleared) == ({"jobstores", "mine.txt"}, [])
    assert data.ledger == f"{LEDGER_HEADER}\njobstores\nmine.txt\n"
    data.names |= {"jobstore", "foo.txt", "workflows"}  # the test, and a `lab run --shared` meanwhile
    assert leftovers.end(data, before) == ["/data/foo.txt", "/data/jobstore"]
    assert data.names == {"jobstores", "mine.txt", "workflows"}
    assert data.ledger == ""
    removals = [(argv, user) for argv, user in data.commands if argv[0] == "rm"]
    assert removals == [
        (["rm", "-rf", "--", "/data/foo.txt", "/data/jobstore"], "root"),
        (["rm", "-f", LEDGER], "root"),
    ]


def test_an_interrupted_tests_leftovers_go_before_the_next_test() -> None:
    data = SharedData({"jobstores", "jobstore", "old.txt"}, ledger=f"{LEDGER_HEADER}\njobstores\nold.txt\n")
    before, cleared = leftovers.begin(data)
    assert cleared == ["/data/jobstore"]
    assert before == {"jobstores", "old.txt"}


def test_nothing_made_nothing_removed() -> None:
    data = SharedData(set())
    before, _ = leftovers.begin(data)
    assert leftovers.end(data, before) == []
    assert [argv for argv, _ in data.commands if argv[:2] == ["rm", "-rf"]] == []
