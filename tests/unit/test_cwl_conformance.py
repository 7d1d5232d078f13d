"""lab/cwl/spec.py and lab/cwl/conformance.py: the suite's tests, the selection cwltest gets, its
command line, and innode/cwl_runner.py (no Docker)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
import yaml

from innode import cwl_runner
from lab.cwl import conformance, spec
from lab.errors import ConfigError

SUITE = """\
# every "id" must be unique
- job: tests/bwa-mem-job.json
  tool: tests/bwa-mem-tool.cwl
  output:
    args: [bwa, mem, -t, '2', -I, '1,2,3,4']
  id: cl_basic_generation
  doc: General test of command line generation
  tags: [ required, command_line_tool ]

- tool: tests/stdout-docker.cwl
  output: {}
  id: stdout_redirect_docker
  doc: >
    Test command execution in Docker
    with stdout redirection
  tags: [ docker, command_line_tool ]

- $import: tests/loadContents/test-index.yaml
"""
IMPORTED = """\
- job: input.yml
  tool: load_contents.cwl
  output: {$import: compare-output.json}
  id: load_contents_int
  doc: Read an int from a file
  tags: [ required, command_line_tool, inline_javascript ]
"""


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    """A suite laid out as cwl-v1.2's: a top file with an $import of a folder's index."""
    root = tmp_path / "cwl-v1.2-0d538a0d"
    (root / "tests" / "loadContents").mkdir(parents=True)
    (root / spec.TEST_FILE).write_text(SUITE)
    (root / "tests" / "loadContents" / "test-index.yaml").write_text(IMPORTED)
    return root


def test_the_catalogue_numbers_the_tests_as_cwltest_lists_them_imports_resolved(suite: Path) -> None:
    tests = spec.catalogue(suite)
    assert [(t.number, t.name) for t in tests] == [
        (1, "cl_basic_generation"),
        (2, "stdout_redirect_docker"),
        (3, "load_contents_int"),
    ]
    assert tests[1].doc == "Test command execution in Docker with stdout redirection"
    assert [t.needs_container for t in tests] == [False, True, False]


def test_an_imported_tests_paths_are_made_relative_to_the_suites_root(suite: Path) -> None:
    """Its tool, its job, and a `$import` inside its expected output."""
    imported = spec.catalogue(suite)[2].entry
    assert imported["tool"] == "tests/loadContents/load_contents.cwl"
    assert imported["job"] == "tests/loadContents/input.yml"
    assert imported["output"] == {"$import": "tests/loadContents/compare-output.json"}
    assert spec.catalogue(suite)[0].entry["tool"] == "tests/bwa-mem-tool.cwl"


def test_the_selection_file_gives_cwltest_the_entries_unchanged(suite: Path) -> None:
    tests = spec.catalogue(suite)
    written = json.loads(spec.selection_file([tests[0], tests[2]]))
    assert written == [dict(tests[0].entry), dict(tests[2].entry)]
    assert written[0]["output"]["args"][3] == "2"  # a quoted number stays a string


def test_a_character_past_u_ffff_reaches_a_yaml_reader_whole() -> None:
    """cwltest reads the selection as YAML: an escaped surrogate pair would reach it as two
    lone surrogates (inputBinding_position_expr expects "🕺 1 singular sensation!")."""
    entry = {"id": "inputBinding_position_expr", "output": {"out": "🕺 1 singular sensation!\n"}}
    test = spec.ConformanceTest(1, "inputBinding_position_expr", "", (), entry)
    written = spec.selection_file([test])
    assert yaml.safe_load(written) == [entry]
    ruamel = pytest.importorskip("ruamel.yaml", reason="cwltest's YAML reader; in Toil's CWL extra")
    assert ruamel.YAML(typ="safe", pure=True).load(written) == [entry]


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        (spec.Selection(), ["cl_basic_generation", "stdout_redirect_docker", "load_contents_int"]),
        (spec.Selection(names=("load_contents_int",)), ["load_contents_int"]),
        (spec.Selection(tags=("inline_javascript", "docker")),
         ["stdout_redirect_docker", "load_contents_int"]),
        (spec.Selection(exclude_tags=("required",)), ["stdout_redirect_docker"]),
        (spec.Selection.parse("cl_basic_generation, load_contents_int", None, "inline_javascript"),
         ["cl_basic_generation"]),
    ],
)  # fmt: skip
def test_a_selection_keeps_the_suites_order(
    suite: Path, selection: spec.Selection, expected: list[str]
) -> None:
    assert [t.name for t in spec.select(spec.catalogue(suite), selection)] == expected


def test_an_unknown_name_is_refused_with_where_to_find_the_names(suite: Path) -> None:
    with pytest.raises(ConfigError, match=r"no conformance test is named nope: .*--list"):
        spec.select(spec.catalogue(suite), spec.Selection(names=("cl_basic_generation", "nope")))


def test_cwl_spec_may_be_a_folder_or_a_tarball_unpacked_once(suite: Path, tmp_path: Path) -> None:
    assert spec.locate(str(suite), tmp_path / "cache") == suite
    archive = tmp_path / "suite.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(suite, arcname=suite.name)
    root = spec.locate(str(archive), tmp_path / "cache")
    assert root.name == suite.name and (root / spec.TEST_FILE).read_text() == SUITE
    (root / "marker").write_text("")
    assert spec.locate(str(archive), tmp_path / "cache") == root
    assert (root / "marker").exists()  # found unpacked, not unpacked again


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("missing.tar.gz", "no such file or folder"),
        ("folder", "a folder without conformance_tests.yaml"),
        ("not-a-tarball.tar.gz", "not a readable tarball"),
    ],
)
def test_a_cwl_spec_that_is_not_a_suite_is_refused_with_what_to_give(
    tmp_path: Path, given: str, message: str
) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "not-a-tarball.tar.gz").write_text("<html>rate limited</html>")
    with pytest.raises(ConfigError, match=message) as raised:
        spec.locate(str(tmp_path / given), tmp_path / "cache")
    assert "set CWL_SPEC to a copy of the CWL v1.2 conformance suite at commit 0d538a0d" in str(raised.value)


def test_a_tarball_with_a_path_outside_its_folder_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("../outside")
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(ConfigError, match="outside its folder"):
        spec.locate(str(archive), tmp_path / "cache")
    assert not (tmp_path / "outside").exists()


def test_without_cwl_spec_the_pinned_commit_comes_from_github() -> None:
    assert spec.SPEC_URL == (
        "https://github.com/common-workflow-language/cwl-v1.2/archive/"
        "0d538a0dbc5518f3c6083ce4571926f65cb84f76.tar.gz"
    )


# --- cwltest's command line -------------------------------------------------------


def runner_options(argv: list[str]) -> list[str]:
    return argv[argv.index("--") + 1 :]


@pytest.mark.parametrize(
    ("batch_system", "expected"), [("slurm", "slurm"), ("single_machine", "single_machine")]
)
def test_cwltest_runs_the_lab_runner_on_the_selection_with_toils_conformance_options(
    batch_system: str, expected: str
) -> None:
    request = conformance.Request(batch_systems=("slurm",), jobs=3, timeout=900)
    argv = conformance.cwltest_argv(request, batch_system)
    assert argv[0] == "cwltest"
    assert argv[argv.index("--test") + 1] == f"{conformance.SPEC_DIR}/{spec.SELECTION_FILE}"
    assert argv[argv.index("--tool") + 1] == f"/data/cwl-conformance/{batch_system}/runner"
    assert argv[argv.index("-j") + 1] == "3" and argv[argv.index("--timeout") + 1] == "900"
    assert argv[argv.index("--junit-xml") + 1] == f"/data/cwl-conformance/{batch_system}/junit.xml"
    assert "--junit-verbose" in argv and "-n" not in argv and "-s" not in argv
    options = runner_options(argv)
    assert options[options.index("--batchSystem") + 1] == expected
    assert options[options.index("--symlinkImports") + 1] == "False"
    assert "--no-container" in options and options[options.index("--clean") + 1] == "always"


def test_the_users_toil_options_replace_the_labs() -> None:
    request = conformance.Request(batch_systems=("slurm",), toil_args=("--retryCount", "0", "--logDebug"))
    options = runner_options(conformance.cwltest_argv(request, "slurm"))
    assert options.count("--retryCount") == 1 and options[-3:] == ["--retryCount", "0", "--logDebug"]


def test_toils_cwl_parser_takes_the_conformance_options() -> None:
    """Every option a test's toil-cwl-runner gets (the lab's runner adds --jobStore) is Toil 9.6's."""
    pytest.importorskip("cwltool", reason="cwltool is in the nodes' CWL layer")
    from toil.cwl.cwltoil import get_options  # type: ignore[import-untyped,unused-ignore]

    for batch_system in ("slurm", "single_machine"):
        options = runner_options(conformance.cwltest_argv(conformance.Request(("slurm",)), batch_system))
        parsed = get_options(["--jobStore", "file:/data/j", *options, "--outdir=/tmp/o", "tool.cwl"])
        assert (parsed.batchSystem, parsed.no_container, parsed.symlinkImports) == (batch_system, True, False)
        assert parsed.clean == "always" and parsed.retryCount == 2
        # cwltest adds --quiet; the failed jobs' relayed logs (WARNING) must still show.
        quiet = get_options(["--jobStore", "file:/data/j", *options, "--quiet", "tool.cwl"])
        assert quiet.logLevel == "WARNING"


def test_the_runner_script_calls_the_in_node_runner_with_its_job_stores() -> None:
    script = conformance.runner_script("mesos")
    assert script.startswith("#!/bin/sh\n")
    assert 'exec python3 -m innode.cwl_runner /data/cwl-conformance/mesos/jobstores "$@"' in script


def test_mesos_joins_the_run_where_a_mesos_build_exists(tmp_path: Path) -> None:
    package = tmp_path / "mesos-1.12.0-bookworm-amd64.tar.gz"
    package.write_bytes(b"")
    assert conformance.default_batch_systems({"MESOS_PACKAGE": str(package)}) == ("slurm", "mesos")


def test_an_unknown_batch_system_is_refused(tmp_path: Path) -> None:
    from lab.config import LabConfig

    with pytest.raises(ConfigError, match="'lsf' is not one of slurm, mesos"):
        conformance.lab_config(LabConfig.from_env({}), {}, "lsf")


# --- innode/cwl_runner.py -----------------------------------------------------------


def test_each_call_of_the_runner_gets_a_new_file_job_store_under_its_folder(tmp_path: Path) -> None:
    stores = tmp_path / "jobstores"
    first = cwl_runner.argv_for(str(stores), ["--batchSystem", "slurm", "tool.cwl"])
    second = cwl_runner.argv_for(str(stores), [])
    assert first[:2] == ["toil-cwl-runner", "--jobStore"] and first[3:] == [
        "--batchSystem",
        "slurm",
        "tool.cwl",
    ]
    paths = [Path(argv[2].removeprefix("file:")) for argv in (first, second)]
    assert paths[0] != paths[1]
    assert all(path.parent == stores and path.name.startswith("jobstore-") for path in paths)
    assert not any(path.exists() for path in paths)  # Toil makes the job store's folder itself


def test_the_runner_without_its_folder_says_how_to_call_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert cwl_runner.main([]) == 2
    assert cwl_runner.main(["--outdir=/x"]) == 2
    assert "usage: python3 -m innode.cwl_runner STORES" in capsys.readouterr().err


def test_the_summary_says_which_tests_were_asked() -> None:
    whole = conformance.summary([], conformance.Request(("slurm",)), Path("/s"))
    assert "; the whole suite; cwltest -j 4 --timeout 2400;" in whole
    selection = spec.Selection(names=("a", "b"), exclude_tags=("docker",))
    narrowed = conformance.summary([], conformance.Request(("slurm",), selection=selection), Path("/s"))
    assert "; names a, b; excluding tags docker; cwltest -j 4" in narrowed
