"""Which packages provide the libraries a Mesos install tree needs (no Docker)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

from innode import sonames
from innode.sonames import Ran

# Lines of Debian 12's main/Contents-amd64, as apt-helper prints them.
CONTENTS = """\
usr/lib/x86_64-linux-gnu/libgpr.so.29                   libs/libgrpc29
usr/lib/x86_64-linux-gnu/libgpr.so.29.0.0               libs/libgrpc29
usr/lib/x86_64-linux-gnu/libgrpc++_unsecure.so.1.51     libs/libgrpc++1.51
usr/lib/x86_64-linux-gnu/libgrpc_unsecure.so.29         libs/libgrpc29
usr/lib/x86_64-linux-gnu/libapr-1.so.0                  libs/libapr1
usr/lib/debug/.build-id/ab/libapr-1.so.0                debug/libapr1-dbgsym
usr/share/doc/libgpr.so.29                              doc/not-a-library
usr/lib/x86_64-linux-gnu/libcurl.so.4                   libs/libcurl4,non-free/libs/libcurl4-other
"""


def test_parse_contents_finds_the_packages_behind_debian_12s_grpc_libraries() -> None:
    wanted = ["libgpr.so.29", "libgrpc++_unsecure.so.1.51", "libgrpc_unsecure.so.29", "libnothing.so.1"]
    assert sonames.parse_contents(CONTENTS.splitlines(keepends=True), wanted) == {
        "libgpr.so.29": ["libgrpc29"],
        "libgrpc++_unsecure.so.1.51": ["libgrpc++1.51"],
        "libgrpc_unsecure.so.29": ["libgrpc29"],
    }


def test_parse_contents_keeps_only_folders_the_loader_searches() -> None:
    # The debug symbols' copy and the file under /usr/share are not libraries to install.
    assert sonames.parse_contents(CONTENTS.splitlines(), ["libapr-1.so.0"]) == {"libapr-1.so.0": ["libapr1"]}


def test_parse_contents_reads_every_owner_of_a_path() -> None:
    found = sonames.parse_contents(CONTENTS.splitlines(), ["libcurl.so.4"])
    assert found == {"libcurl.so.4": ["libcurl4", "libcurl4-other"]}


def test_choose_prefers_the_package_the_naming_rule_expects() -> None:
    assert sonames.choose("libcurl.so.4", ["libcurl4-other", "libcurl4"]) == "libcurl4"
    # No rule knows that libgpr lives in libgrpc29: the index does.
    assert sonames.choose("libgpr.so.29", ["libgrpc29"]) == "libgrpc29"
    assert sonames.choose("libfoo.so.1", ["libfoo-extra1", "libbar1"]) == "libbar1"


class FakeApt:
    """apt-get, dpkg and apt-helper as the Mesos image's build sees them; every call recorded."""

    def __init__(self, index: Path, update_code: int = 0) -> None:
        self.index = index
        self.update_code = update_code
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> Ran:
        argv = list(argv)
        self.calls.append(argv)
        if argv[:2] == ["apt-get", "update"]:
            assert sonames.CONTENTS_CONF.read_text() == sonames.CONTENTS_TARGET
            return Ran(self.update_code, "", "" if self.update_code == 0 else "E: failed")
        if argv == ["dpkg", "--print-architecture"]:
            return Ran(0, "amd64\n", "")
        if argv[:2] == ["apt-get", "indextargets"]:
            assert "Architecture: amd64" in argv
            return Ran(0, f"{self.index}\n", "")
        raise AssertionError(f"unexpected command {argv}")


def read_plain(path: str) -> Iterable[str]:
    return Path(path).read_text().splitlines(keepends=True)


@pytest.fixture
def contents_conf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    conf = tmp_path / "50toil-lab-contents"
    monkeypatch.setattr(sonames, "CONTENTS_CONF", conf)
    return conf


def test_lookup_contents_enables_the_index_reads_it_and_removes_the_setting(
    tmp_path: Path, contents_conf: Path
) -> None:
    index = tmp_path / "Contents-amd64"
    index.write_text(CONTENTS)
    apt = FakeApt(index)
    found = sonames.lookup_contents(["libgpr.so.29"], apt, read_plain)
    assert found == {"libgpr.so.29": ["libgrpc29"]}
    assert apt.calls[0] == ["apt-get", "update", "-qq"]
    assert not contents_conf.exists()


def test_lookup_contents_is_none_when_apt_cannot_fetch_an_index(tmp_path: Path, contents_conf: Path) -> None:
    apt = FakeApt(tmp_path / "absent", update_code=100)
    assert sonames.lookup_contents(["libgpr.so.29"], apt, read_plain) is None
    assert not contents_conf.exists()


@pytest.mark.parametrize(
    ("soname", "first"),
    [
        # The Debian 12 runtime packages of a Mesos 1.12 install tree (../shared/mesos/README.md).
        ("libapr-1.so.0", "libapr1"),
        ("libaprutil-1.so.0", "libaprutil1"),
        ("libcurl.so.4", "libcurl4"),
        ("libgrpc++.so.1.51", "libgrpc++1.51"),
        ("libgrpc++_unsecure.so.1.51", "libgrpc++1.51"),
        ("libgrpc.so.29", "libgrpc29"),
        ("libgrpc_unsecure.so.29", "libgrpc29"),
        ("libgpr.so.29", "libgrpc29"),
        ("libprotobuf.so.32", "libprotobuf32"),
        ("libre2.so.9", "libre2-9"),
        ("libsasl2.so.2", "libsasl2-2"),
        ("libsvn_delta-1.so.1", "libsvn1"),
        ("libsvn_subr-1.so.1", "libsvn1"),
        ("libzookeeper_mt.so.2", "libzookeeper-mt2"),
        ("libarchive.so.13", "libarchive13"),
        ("libz.so.1", "zlib1g"),
        ("libevent-2.1.so.7", "libevent-2.1-7"),
    ],
)
def test_the_naming_rule_starts_with_the_providing_package(soname: str, first: str) -> None:
    assert sonames.rule_candidates(soname)[0] == first


def test_rule_candidates_include_ubuntus_t64_names() -> None:
    assert sonames.rule_candidates("libapr-1.so.0")[:2] == ["libapr1", "libapr1t64"]


def test_rule_candidates_of_something_that_is_not_a_soname() -> None:
    assert sonames.rule_candidates("ld-linux-x86-64") == []


def test_packages_for_falls_back_to_the_rule_without_a_contents_index(
    tmp_path: Path, contents_conf: Path
) -> None:
    calls: list[list[str]] = []

    def apt(argv: Sequence[str]) -> Ran:
        calls.append(list(argv))
        if argv[:2] == ["apt-get", "update"]:
            return Ran(100, "", "E: no Contents")
        if argv[:2] == ["apt-cache", "show"]:
            return Ran(0, f"Package: {argv[-1]}\n", "") if argv[-1] == "libgrpc29" else Ran(100, "", "")
        raise AssertionError(argv)

    chosen, how = sonames.packages_for(["libgpr.so.29", "libunknown.so.7"], apt)
    assert chosen == {"libgpr.so.29": "libgrpc29"}
    assert "naming rule" in how


def test_parse_ldd() -> None:
    text = (
        "\tlinux-vdso.so.1 (0x00007ffc)\n"
        "\tlibapr-1.so.0 => not found\n"
        "\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f)\n"
        "\tlibsvn_delta-1.so.1 => not found\n"
    )
    assert sonames.parse_ldd(text) == {"libapr-1.so.0", "libsvn_delta-1.so.1"}


def test_files_to_check_takes_executables_and_libraries(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "lib").mkdir()
    program = tmp_path / "bin" / "mesos-agent"
    program.write_bytes(b"\x7fELF")
    program.chmod(0o755)
    library = tmp_path / "lib" / "libmesos-1.11.0.so"
    library.write_bytes(b"\x7fELF")
    library.chmod(0o644)
    (tmp_path / "lib" / "libmesos.so").symlink_to(library)
    (tmp_path / "lib" / "README").write_text("text")
    assert sonames.files_to_check([tmp_path]) == [program, library]


def test_missing_sonames_asks_ldd_about_elf_files_only(tmp_path: Path) -> None:
    elf = tmp_path / "mesos-agent"
    elf.write_bytes(b"\x7fELF....")
    script = tmp_path / "mesos-init"
    script.write_text("#!/bin/sh\n")
    asked: list[list[str]] = []

    def ldd(argv: Sequence[str]) -> Ran:
        asked.append(list(argv))
        return Ran(0, "\tlibapr-1.so.0 => not found\n", "")

    assert sonames.missing_sonames([elf, script], ldd) == {"libapr-1.so.0": [str(elf)]}
    assert asked == [["ldd", str(elf)]]


def test_the_error_names_each_missing_soname_and_what_needs_it() -> None:
    text = sonames.report_missing({"libx.so.1": ["/opt/mesos/bin/b", "/opt/mesos/bin/a"]}, "the index")
    assert "libx.so.1 (needed by /opt/mesos/bin/a, /opt/mesos/bin/b)" in text
    assert "looked up in the index" in text and "MESOS_EXTRA_PACKAGES" in text


def test_main_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert sonames.main([]) == 2
    assert "usage:" in capsys.readouterr().err
