"""Which packages provide the libraries a Mesos install tree needs (no Docker)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from lab import sonames
from lab.process import Result


@pytest.mark.parametrize(
    ("soname", "first"),
    [
        # The Debian 12 runtime packages a Mesos 1.12 install tree needed (issue #4).
        ("libapr-1.so.0", "libapr1"),
        ("libaprutil-1.so.0", "libaprutil1"),
        ("libcurl.so.4", "libcurl4"),
        ("libgrpc++.so.1.51", "libgrpc++1.51"),
        ("libgrpc.so.29", "libgrpc29"),
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
def test_candidates_start_with_the_providing_package(soname: str, first: str) -> None:
    assert sonames.candidates(soname)[0] == first


def test_candidates_include_ubuntus_t64_names() -> None:
    assert sonames.candidates("libapr-1.so.0")[:2] == ["libapr1", "libapr1t64"]


def test_candidates_of_something_that_is_not_a_soname() -> None:
    assert sonames.candidates("ld-linux-x86-64") == []


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

    def ldd(argv: Sequence[str]) -> Result:
        asked.append(list(argv))
        return Result(tuple(argv), 0, "\tlibapr-1.so.0 => not found\n", "")

    assert sonames.missing_sonames([elf, script], ldd) == {"libapr-1.so.0": [str(elf)]}
    assert asked == [["ldd", str(elf)]]


def test_main_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert sonames.main([]) == 2
    assert "usage:" in capsys.readouterr().err
