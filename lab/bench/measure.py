"""What the bench reads off containers: CPU seconds and memory, from docker stats and cgroups."""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

from lab import docker, process
from lab.cluster import Lab
from lab.errors import LabError
from lab.node import Node

# Prints the container's CPU time (cgroup v2's cpu.stat, else v1's cpuacct.usage).
CPU_ARGV = ["sh", "-c", "cat /sys/fs/cgroup/cpu.stat 2>/dev/null || cat /sys/fs/cgroup/cpuacct/cpuacct.usage"]
# Prints the container's memory counters (cgroup v2, else v1).
MEMORY_STAT_ARGV = [
    "sh",
    "-c",
    "cat /sys/fs/cgroup/memory.stat 2>/dev/null || cat /sys/fs/cgroup/memory/memory.stat",
]
_SIZE_RE = re.compile(r"^\s*([0-9.]+)\s*([kKmMgGtT]?)(i?)[bB]\s*$")
_SIZE_POWER = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}


@dataclass(frozen=True)
class WorkerMemory:
    """One worker's memory: as `docker stats` shows it, and its resident part."""

    node: str
    used_mib: float  # docker stats: usage less inactive page cache
    resident_mib: float  # anonymous memory (processes), from the cgroup


def parse_size_mib(text: str) -> float:
    """A size as docker prints it ('39.11MiB', '2GiB', '812kB', '0B') in MiB."""
    match = _SIZE_RE.match(text)
    if not match:
        raise ValueError(f"not a size: {text!r}")
    number, unit, binary = float(match.group(1)), match.group(2).lower(), match.group(3)
    base = 1024 if binary else 1000
    return float(number * base ** _SIZE_POWER[unit]) / (1024 * 1024)


def parse_stats_memory(text: str) -> dict[str, float]:
    """`docker stats --format '{{json .}}'` lines -> container ID (short) -> used MiB."""
    used: dict[str, float] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        usage = str(record["MemUsage"]).split("/", 1)[0]
        used[str(record["ID"])] = parse_size_mib(usage)
    return used


def parse_cpu_seconds(text: str) -> float:
    """CPU seconds from cgroup v2's cpu.stat (usage_usec) or v1's cpuacct.usage (ns)."""
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "usage_usec":
            return int(value) / 1e6
    stripped = text.strip()
    if stripped.isdigit():
        return int(stripped) / 1e9
    raise ValueError(f"no CPU usage in {text[:200]!r}")


def parse_resident_mib(text: str) -> float:
    """Anonymous (resident, not page-cache) memory from a cgroup's memory.stat, in MiB."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if value.strip().isdigit():
            values[key] = int(value)
    for key in ("anon", "total_rss", "rss"):  # v2, then v1 (hierarchical first)
        if key in values:
            return values[key] / (1024 * 1024)
    raise ValueError("no anon/rss line in memory.stat")


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def median(values: Sequence[float]) -> float | None:
    """The median, or None for no values."""
    return statistics.median(values) if values else None


def cpu_seconds(nodes: Sequence[Node]) -> dict[str, float]:
    """CPU seconds each node's container has used since it started."""
    return {node.name: parse_cpu_seconds(node.exec(CPU_ARGV).stdout) for node in nodes}


def idle_cpu(lab: Lab, seconds: float) -> dict[str, float]:
    """CPU seconds each of the lab's containers used over `seconds` of doing nothing."""
    nodes = [node for node in lab.nodes() if node.running]
    before = cpu_seconds(nodes)
    time.sleep(seconds)
    after = cpu_seconds(nodes)
    return {name: round(after[name] - before[name], 2) for name in after}


def worker_memory(lab: Lab) -> list[WorkerMemory]:
    """Each worker's memory now, as `docker stats` and its cgroup see it."""
    workers = lab.workers()
    stats = process.run(docker.stats_argv([w.container_id for w in workers]))
    used = parse_stats_memory(stats.stdout)
    found = []
    for worker in workers:
        short = next((key for key in used if worker.container_id.startswith(key)), None)
        if short is None:
            raise LabError(f"docker stats did not report {worker.name}:\n{stats.stdout}")
        resident = parse_resident_mib(worker.exec(MEMORY_STAT_ARGV).stdout)
        found.append(WorkerMemory(worker.name, round(used[short], 2), round(resident, 2)))
    return found
