"""The CWL conformance suite: where it comes from, its tests, and a selection of them for cwltest.

The suite is the CWL v1.2 specification's repository at the commit Toil's own Makefile pins
(CWL_SPEC_COMMIT). CWL_SPEC names a copy: a .tar.gz of it (as GitHub's archive gives it) or an
unpacked folder; without it, GitHub's archive of that commit is downloaded once into
build/cwl/. A tarball is unpacked once into build/cwl/suites/. The tests are listed in the
suite's conformance_tests.yaml, some through `$import` of a folder's test-index.yaml whose
paths are relative to that folder.

cwltest is given a test file the lab writes (SELECTION_FILE, beside conformance_tests.yaml,
every test's paths relative to the suite's root): the tests asked for, without those that
need a container engine. The lab never passes cwltest's own -n/-s: cwltest
2.7.20260814150058 pairs each result with the suite's i-th test instead of the i-th test it
ran (`parse_results`: `tests[i]` over `enumerate(results)`), so the junit XML of a selection
names the wrong tests, and an optional test's "unsupported" (exit 33) read against a
required test's tags stops the run ("This is impossible").
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lab import fetch
from lab.config import CWL_SPEC_COMMIT
from lab.errors import ConfigError

SPEC_URL = f"https://github.com/common-workflow-language/cwl-v1.2/archive/{CWL_SPEC_COMMIT}.tar.gz"
TEST_FILE = "conformance_tests.yaml"
SELECTION_FILE = "lab-selection.yaml"
# The tag of the tests that need a container engine (DockerRequirement as a requirement):
# the nodes have none, so these are listed apart, never run as failures.
CONTAINER_TAG = "docker"
# The keys of a test entry that name files, relative to the file that lists the test
# (as do REFERENCES anywhere in it).
PATH_KEYS = ("tool", "job")
IMPORT = "$import"
# schema-salad's references to another file, inside a test's entry.
REFERENCES = (IMPORT, "$include")
HOW_TO_GIVE = (
    f"set CWL_SPEC to a copy of the CWL v1.2 conformance suite at commit {CWL_SPEC_COMMIT[:8]} "
    f"(a .tar.gz of it, or an unpacked folder that holds {TEST_FILE}); GitHub's archive is {SPEC_URL}"
)


@dataclass(frozen=True)
class ConformanceTest:
    """One test of the suite, as cwltest reads it."""

    number: int  # its place in the whole suite, as `cwltest -l` numbers it without a selection
    name: str  # its id (cwltest's short name)
    doc: str
    tags: tuple[str, ...]
    entry: Mapping[str, Any]  # the test's entry, its paths relative to the suite's root

    @property
    def needs_container(self) -> bool:
        """Whether the test is tagged as needing a container engine."""
        return CONTAINER_TAG in self.tags


@dataclass(frozen=True)
class Selection:
    """Which tests a run asks for: by name, by tag, and tags to leave out (empty: all)."""

    names: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()

    @classmethod
    def parse(cls, names: str | None, tags: str | None, exclude_tags: str | None) -> Selection:
        """From comma-separated lists, as cwltest takes them."""
        return cls(split(names), split(tags), split(exclude_tags))

    @property
    def whole(self) -> bool:
        """True when nothing narrows the suite."""
        return not (self.names or self.tags or self.exclude_tags)


def split(words: str | None) -> tuple[str, ...]:
    """`a, b,c` -> ('a', 'b', 'c')."""
    return tuple(word.strip() for word in (words or "").split(",") if word.strip())


# --- Where the suite is ----------------------------------------------------------


def suite_root(env: Mapping[str, str], project: Path) -> Path:
    """The suite CWL_SPEC names (or GitHub's, downloaded), with the checkout's build/cwl/ as cache."""
    return locate(env.get("CWL_SPEC"), project / "build" / "cwl")


def locate(given: str | None, cache: Path) -> Path:
    """The suite's root folder (the one that holds conformance_tests.yaml), from CWL_SPEC or GitHub."""
    if not given:
        advice = f"fetch it yourself and set CWL_SPEC to the file; {HOW_TO_GIVE}."
        return unpack(fetch.download(SPEC_URL, cache / "downloads", setting="CWL_SPEC", advice=advice), cache)
    path = Path(given).expanduser()
    if not path.exists():
        raise ConfigError(f"CWL_SPEC={given}: no such file or folder. {HOW_TO_GIVE}.")
    if path.is_dir():
        if not (path / TEST_FILE).is_file():
            raise ConfigError(f"CWL_SPEC={given} is a folder without {TEST_FILE}: {HOW_TO_GIVE}.")
        return path.resolve()
    return unpack(path.resolve(), cache)


def unpack(archive: Path, cache: Path) -> Path:
    """A tarball of the suite unpacked once into cache/suites/<digest>/; its root folder."""
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()[:16]
    target = cache / "suites" / digest
    if not target.is_dir():
        partial = target.with_name(target.name + ".part")
        try:
            with tarfile.open(archive) as tar:
                members = tar.getmembers()
                for member in members:
                    if not safe_member(member):
                        raise ConfigError(f"{archive} holds {member.name!r}, outside its folder: not a suite")
                partial.mkdir(parents=True, exist_ok=True)
                tar.extractall(partial, members=members)  # every member checked above
        except (tarfile.TarError, OSError) as error:
            raise ConfigError(f"{archive} is not a readable tarball ({error}): {HOW_TO_GIVE}.") from None
        partial.rename(target)
    roots = sorted(found.parent for found in target.glob(f"*/{TEST_FILE}")) or (
        [target] if (target / TEST_FILE).is_file() else []
    )
    if not roots:
        raise ConfigError(f"{archive} holds no {TEST_FILE}: {HOW_TO_GIVE}.")
    return roots[0]


def safe_member(member: tarfile.TarInfo) -> bool:
    """A member that stays inside the folder it is unpacked into (no absolute path, no '..', no device)."""
    name = posixpath.normpath(member.name)
    inside = not name.startswith(("/", "../")) and name != ".."
    if member.issym() or member.islnk():
        target = posixpath.normpath(posixpath.join(posixpath.dirname(name), member.linkname))
        inside = inside and not member.linkname.startswith("/") and not target.startswith("../")
    return inside and (member.isfile() or member.isdir() or member.issym() or member.islnk())


# --- Its tests -------------------------------------------------------------------


def catalogue(root: Path) -> list[ConformanceTest]:
    """Every test of the suite at `root`, in cwltest's order, `$import`s resolved."""
    entries = list(_entries(root, TEST_FILE))
    tests = []
    for number, entry in enumerate(entries, start=1):
        name = str(entry.get("id") or entry.get("label") or f"test-{number}")
        tags = tuple(str(tag) for tag in entry.get("tags") or ())
        tests.append(ConformanceTest(number, name, " ".join(str(entry.get("doc", "")).split()), tags, entry))
    return tests


def _entries(root: Path, listed_in: str) -> Iterable[dict[str, Any]]:
    """The test entries of one file of the suite, their paths made relative to the root."""
    try:
        loaded = yaml.safe_load((root / listed_in).read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"the suite's {listed_in} cannot be read ({error}): {HOW_TO_GIVE}.") from None
    if not isinstance(loaded, list):
        raise ConfigError(f"the suite's {listed_in} is not a list of tests: {HOW_TO_GIVE}.")
    folder = posixpath.dirname(listed_in)
    for item in loaded:
        if not isinstance(item, dict):
            raise ConfigError(f"the suite's {listed_in} lists {item!r}, not a test")
        if IMPORT in item:
            yield from _entries(root, posixpath.normpath(posixpath.join(folder, str(item[IMPORT]))))
            continue
        entry = {key: _rebase(value, folder) for key, value in item.items()}
        for key in PATH_KEYS:
            if isinstance(entry.get(key), str):
                entry[key] = posixpath.normpath(posixpath.join(folder, entry[key]))
        yield entry


def _rebase(value: Any, folder: str) -> Any:
    """A value with the `$import`/`$include` paths inside it made relative to the suite's root
    (an expected output may be `{$import: compare-output.json}`, beside its test-index.yaml)."""
    if isinstance(value, dict):
        return {
            key: posixpath.normpath(posixpath.join(folder, item))
            if key in REFERENCES and isinstance(item, str)
            else _rebase(item, folder)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_rebase(item, folder) for item in value]
    return value


def select(tests: Sequence[ConformanceTest], selection: Selection) -> list[ConformanceTest]:
    """The tests a selection asks for, in the suite's order; an unknown name is an error."""
    known = {test.name for test in tests}
    unknown = [name for name in selection.names if name not in known]
    if unknown:
        raise ConfigError(
            f"no conformance test is named {', '.join(unknown)}: `lab cwl-conformance --list` shows the names"
        )
    chosen = []
    for test in tests:
        if selection.names and test.name not in selection.names:
            continue
        if selection.tags and not set(selection.tags) & set(test.tags):
            continue
        if set(selection.exclude_tags) & set(test.tags):
            continue
        chosen.append(test)
    return chosen


def selection_file(tests: Sequence[ConformanceTest]) -> str:
    """cwltest's test file for these tests, to be written at the suite's root.

    JSON, which YAML 1.2 (cwltest's reader) reads as written: the entries' values go
    through unchanged. Unescaped: YAML reads JSON's escaped surrogate pair of a character
    past U+FFFF (`"\\ud83d\\udd7a"`) as two lone surrogates, not the character, and a test
    expecting "🕺 1 singular sensation!" (inputBinding_position_expr) would then fail.
    """
    return json.dumps([dict(test.entry) for test in tests], indent=1, ensure_ascii=False) + "\n"


def listing(tests: Sequence[ConformanceTest]) -> str:
    """`[n] name: doc (tags)` per test, as `lab cwl-conformance --list` prints it."""
    return "\n".join(f"[{t.number}] {t.name}: {t.doc} ({', '.join(t.tags)})" for t in tests)
