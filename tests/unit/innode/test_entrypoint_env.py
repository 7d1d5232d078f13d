"""innode/entrypoint_env.py: the entrypoint's paths come from innode/, written once."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from innode import entrypoint_env, layout, mesos_daemons, slurm_conf

ENTRYPOINT = Path(__file__).resolve().parents[3] / "images" / "node" / "entrypoint.sh"


def test_the_paths_are_those_of_the_modules_that_define_them() -> None:
    assert entrypoint_env.PATHS["LAB_PLACEMENT_DIR"] == layout.PLACEMENT_DIR
    assert entrypoint_env.PATHS["LAB_MESOS_AGENT_WORK_DIR"] == mesos_daemons.AGENT_WORK_DIR
    conf = slurm_conf.render_conf(
        slurm_conf.SlurmLayout("lab", workers=1, cpus=1, memory_mb=1024, slots_per_cpu=1)
    )
    assert f"StateSaveLocation={entrypoint_env.PATHS['LAB_SLURMCTLD_STATE_DIR']}" in conf
    assert f"SlurmdSpoolDir={entrypoint_env.PATHS['LAB_SLURMD_SPOOL_DIR']}" in conf


def test_a_shell_reads_every_assignment_back(tmp_path: Path) -> None:
    env_file = tmp_path / "layout.env"
    env_file.write_text(entrypoint_env.shell_assignments())
    script = f". {env_file}; " + "; ".join(f'echo "{name}=${name}"' for name in entrypoint_env.PATHS)
    printed = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout
    assert printed.splitlines() == [f"{name}={value}" for name, value in entrypoint_env.PATHS.items()]


def test_the_entrypoint_writes_no_in_node_path_itself_and_uses_only_known_names() -> None:
    text = ENTRYPOINT.read_text()
    assert layout.NODE_STATE_DIR not in text
    used = set(re.findall(r"\$\{?(LAB_[A-Z_]+_DIR|LAB_SLURM_CONF)\b", text))
    assert used and used <= set(entrypoint_env.PATHS)
