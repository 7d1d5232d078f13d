"""`lab run WORKFLOW.cwl [JOB.yml]`: a CWL workflow run by toil-cwl-runner on the leader.

The workflow's folder (and the job file's, when it lies elsewhere) is copied into the
leader's private area: only the leader sees the inputs, and Toil imports them into the
job store on the shared volume, from which each step's Toil worker on a worker node
reads them, as on a cluster whose nodes share no local disk. The steps run on the lab's
batch system (Toil's plain `slurm`, or `mesos`), each tool as a process of the Toil
worker that runs its step: `--no-container`, because the nodes have no container engine.
The outputs go to a folder of their own on the shared volume.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from innode.layout import JOBSTORES_DIR, LAB_USER, OUTPUTS_DIR, USER_HOME
from lab import backends, tarball, workflow
from lab.errors import ConfigError
from lab.node import Node

RUNNER = "toil-cwl-runner"
WORKFLOW_SUFFIX = ".cwl"
JOB_SUFFIXES = (".yml", ".yaml", ".json")
STAGED_DIR = f"{USER_HOME}/cwl"
# A workflow's folder is copied to the leader whole: past this, it is likely not the
# folder meant (a home directory), and the copy would take long.
MOST_STAGED_BYTES = 256 * 1024 * 1024
# Toil options of every CWL run, before the lab's defaults and the user's options. The
# nodes have no container engine. Toil's file job store imports an input by a symbolic
# link to it by default (--symlinkImports True): only the leader sees the inputs here, so a
# step on a worker would find a dangling link ("NoSuchFileException: File
# 'files-flat/.../chr20.fa' does not exist"); the lab's runs copy them into the job store.
RUNNER_OPTIONS: tuple[tuple[str, str | None], ...] = (("--no-container", None), ("--symlinkImports", "False"))
NO_RUNNER = (
    "this lab's nodes have no CWL runner (toil-cwl-runner): bring the lab up with CWL=1 "
    "(`CWL=1 make lab-up`, or `CWL=1 lab up`): its containers are recreated with CWL's layer, "
    "and its volumes and job stores are kept. Nothing was run."
)


def is_cwl(path: Path) -> bool:
    """Whether `lab run` treats this file as a CWL document."""
    return path.suffix == WORKFLOW_SUFFIX


@dataclass(frozen=True)
class CwlRun:
    """One CWL run as asked: the document, its job file, and Toil's options."""

    document: Path
    job: Path | None
    toil_args: tuple[str, ...]

    @classmethod
    def parse(cls, document: Path, rest: Sequence[str]) -> CwlRun:
        """The document, then a job file if the next argument names one, then Toil's options;
        the folders the run copies are checked here, before the lab is asked."""
        if not document.is_file():
            raise ConfigError(f"CWL document {document} does not exist")
        job = None
        rest = list(rest)
        if rest and not rest[0].startswith("-"):
            candidate = Path(rest[0])
            if candidate.suffix not in JOB_SUFFIXES:
                endings = ", ".join(JOB_SUFFIXES)
                raise ConfigError(
                    f"{rest[0]}: a CWL job file ends in {endings}; Toil's options start with --"
                )
            if not candidate.is_file():
                raise ConfigError(f"job file {candidate} does not exist")
            job, rest = candidate, rest[1:]
        for argument in rest:
            if argument.endswith(WORKFLOW_SUFFIX) or Path(argument).suffix in JOB_SUFFIXES:
                raise ConfigError(
                    f"{argument}: give the CWL document and its job file first: "
                    "lab run WORKFLOW.cwl [JOB.yml] [TOIL_OPTIONS ...]"
                )
        asked = cls(document, job, tuple(rest))
        for folder in folders(asked):
            check_size(folder)
        return asked

    @property
    def name(self) -> str:
        """The run's name, from its document: letters, digits, '-' and '_'."""
        return "".join(c if c.isalnum() or c in "-_" else "_" for c in self.document.stem) or "cwl"


def folders(run: CwlRun) -> list[Path]:
    """The host folders a run copies to the leader: the document's, and the job file's if outside it."""
    home = run.document.resolve().parent
    found = [home]
    if run.job is not None and not run.job.resolve().is_relative_to(home):
        found.append(run.job.resolve().parent)
    return found


def check_size(folder: Path) -> None:
    """A folder `lab run` copies to the leader must be one of the workflow's own (MOST_STAGED_BYTES)."""
    size = sum(p.stat().st_size for p in tarball.tree_files(folder) if p.is_file())
    if size > MOST_STAGED_BYTES:
        raise ConfigError(
            f"{folder} holds {size // (1024 * 1024)} MiB, and `lab run` copies a CWL document's folder "
            f"(and its job file's) to the leader whole: put the workflow, its tools and inputs in a "
            f"folder of their own (at most {MOST_STAGED_BYTES // (1024 * 1024)} MiB)"
        )


def staged_paths(run: CwlRun, stage: str) -> tuple[str, str | None, str]:
    """Where the document and job file are on the leader, and the folder the runner starts in."""
    home = run.document.resolve().parent
    document = f"{stage}/workflow/{run.document.resolve().relative_to(home)}"
    job = None
    if run.job is not None:
        resolved = run.job.resolve()
        job = (
            f"{stage}/workflow/{resolved.relative_to(home)}"
            if resolved.is_relative_to(home)
            else f"{stage}/job/{resolved.name}"
        )
    return document, job, f"{stage}/workflow"


def runner_argv(
    run: CwlRun, document: str, job: str | None, job_store: str, outdir: str, batch_system: str
) -> list[str]:
    """toil-cwl-runner's command line: Toil's options first (everything after the document is its inputs)."""
    defaults = [
        ("--jobStore", job_store),
        ("--outdir", outdir),
        *RUNNER_OPTIONS,
        # No user code to ship: a CWL workflow's steps are cwltool's, in the nodes' image.
        *backends.get(batch_system).toil_options(auto_deploy=False),
        *workflow.DEFAULT_OPTIONS,
    ]
    return [RUNNER, *workflow.merge_options(defaults, run.toil_args), document, *([job] if job else [])]


def has_runner(leader: Node) -> bool:
    """Whether the leader's image carries toil-cwl-runner (the CWL layer)."""
    return leader.exec(["sh", "-c", f"command -v {RUNNER}"], check=False).returncode == 0


def run_cwl(leader: Node, run: CwlRun) -> tuple[workflow.RunRecord, int, str]:
    """Copy the run's folders to the leader, run it there, record it; its exit code and outputs folder."""
    if not has_runner(leader):
        raise ConfigError(NO_RUNNER)
    copied = folders(run)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    stage = f"{STAGED_DIR}/{run.name}-{stamp}"
    leader.exec(["rm", "-rf", stage], user=LAB_USER)
    leader.copy_in(copied[0], f"{stage}/workflow")
    if len(copied) > 1:
        leader.copy_in(copied[1], f"{stage}/job")
    document, job, workdir = staged_paths(run, stage)
    job_store = workflow.new_job_store(run.name)
    outdir = f"{OUTPUTS_DIR}/{job_store.rsplit('/', 1)[-1]}"
    leader.exec(["mkdir", "-p", JOBSTORES_DIR, outdir], user=LAB_USER)
    argv = runner_argv(run, document, job, job_store, outdir, leader.batch_system)
    record = workflow.RunRecord(str(run.document), run.name, job_store, argv, time.time())
    finished, result = workflow.run_recorded(leader, record, workdir=workdir)
    return finished, result.returncode, outdir
