"""`lab report`: a self-contained HTML page (inline SVG) of where and when each job ran."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from lab.placement import Placement

if TYPE_CHECKING:
    from lab.workflow import RunRecord

ROW_HEIGHT = 26
LABEL_WIDTH = 330
CHART_WIDTH = 760
TOP = 40
COLORS = {"ok": "#4c8bd6", "failed": "#d64c4c", "unfinished": "#e0a030"}


def write_report(directory: Path, record: RunRecord, placements: Sequence[Placement]) -> Path:
    """Write the report of a run into `directory`, named after its job store."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{record.job_store.rstrip('/').rsplit('/', 1)[-1]}.html"
    title = f"{record.workflow}: exit code {record.exit_code}"
    path.write_text(render(placements, title))
    return path


def process_rows(placements: Sequence[Placement]) -> list[tuple[str, int, list[Placement]]]:
    """One row per worker process (node, pid, its jobs), grouped by node, by first start."""
    rows: dict[tuple[str, str, int], list[Placement]] = {}
    for placement in sorted(placements, key=lambda p: (p.start, p.sequence)):
        rows.setdefault((placement.node, placement.container, placement.pid), []).append(placement)
    ordered = sorted(rows.items(), key=lambda item: (item[0][0], item[1][0].start))
    return [(node, pid, jobs) for (node, _, pid), jobs in ordered]


def render(placements: Sequence[Placement], title: str) -> str:
    """The page: a bar per job, a row per worker process, rows grouped by node."""
    rows = process_rows(placements)
    if placements:
        origin = min(p.start for p in placements)
        finish = max(p.end if p.end is not None else p.start for p in placements)
    else:
        origin = finish = 0.0
    span = max(finish - origin, 1e-3)
    scale = CHART_WIDTH / span
    height = TOP + ROW_HEIGHT * max(len(rows), 1) + 40
    width = LABEL_WIDTH + CHART_WIDTH + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(title)}">'
    ]
    parts += _axis(span, scale, height)
    previous_node = None
    for index, (node, pid, jobs) in enumerate(rows):
        y = TOP + index * ROW_HEIGHT
        if node != previous_node:
            parts.append(f'<line class="group" x1="0" x2="{width}" y1="{y}" y2="{y}"/>')
            parts.append(f'<text class="node" x="6" y="{y + 17}">{html.escape(node)}</text>')
            previous_node = node
        names = " → ".join(job.name for job in jobs)
        parts.append(
            f'<text class="pid" x="{LABEL_WIDTH - 8}" y="{y + 17}">{html.escape(names)} · pid {pid}</text>'
        )
        for job in jobs:
            parts.append(_bar(job, y, origin, scale, finish))
    parts.append("</svg>")
    return _page(title, placements, rows, "\n".join(parts))


def _axis(span: float, scale: float, height: float) -> list[str]:
    step = _tick_step(span)
    ticks = []
    tick = 0.0
    while tick <= span + 1e-9:
        x = LABEL_WIDTH + tick * scale
        ticks.append(f'<line class="tick" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP - 6}" y2="{height - 30}"/>')
        ticks.append(f'<text class="tick" x="{x:.1f}" y="{TOP - 10}">{tick:g}s</text>')
        tick += step
    return ticks


def _tick_step(span: float) -> float:
    for step in (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600):
        if span / step <= 12:
            return step
    return span / 10


def _bar(job: Placement, y: float, origin: float, scale: float, finish: float) -> str:
    end = job.end if job.end is not None else finish
    x = LABEL_WIDTH + (job.start - origin) * scale
    width = max((end - job.start) * scale, 3.0)
    duration = "no end recorded: its worker process died" if job.end is None else f"{end - job.start:.2f}s"
    tip = f"{job.name} on {job.node}, pid {job.pid}, job #{job.sequence} of its process"
    tip += f", {duration}, {job.status}"
    if job.error:
        tip += f": {job.error}"
    label = job.name + {"failed": " (failed)", "unfinished": " (worker died)"}.get(job.status, "")
    # The row's label names every job of the process; a bar repeats its job's name
    # only where it fits.
    inside = len(label) * 7 + 8 <= width
    dashed = ' stroke="#8a5a00" stroke-dasharray="4 3"' if job.end is None else ""
    return (
        f"<g><title>{html.escape(tip)}</title>"
        f'<rect class="job {job.status}" x="{x:.1f}" y="{y + 4}" width="{width:.1f}" '
        f'height="{ROW_HEIGHT - 8}" rx="3" fill="{COLORS.get(job.status, "#888")}"{dashed} '
        f'data-job="{html.escape(job.job_id)}"/>'
        + (f'<text class="label" x="{x + 4:.1f}" y="{y + 17}">{html.escape(label)}</text>' if inside else "")
        + "</g>"
    )


def _page(
    title: str, placements: Sequence[Placement], rows: list[tuple[str, int, list[Placement]]], svg: str
) -> str:
    nodes = sorted({p.node for p in placements})
    when = (
        datetime.fromtimestamp(min(p.start for p in placements), tz=timezone.utc).strftime(
            "%Y-%m-%d %H:%M:%S UTC"
        )
        if placements
        else "no jobs recorded"
    )
    failed = sum(1 for p in placements if p.status == "failed")
    unfinished = sum(1 for p in placements if p.status == "unfinished")
    summary = (
        f"{len(placements)} jobs in {len(rows)} worker processes on {len(nodes)} nodes; "
        f"{failed} failed, {unfinished} unfinished; started {when}"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }}
h1 {{ font-size: 20px; margin: 0 0 4px; }}
p.summary {{ margin: 0 0 16px; color: #555; }}
svg text {{ font: 12px system-ui, sans-serif; }}
svg text.node {{ font-weight: bold; }}
svg text.pid {{ text-anchor: end; fill: #555; }}
svg text.tick {{ text-anchor: middle; fill: #777; font-size: 11px; }}
svg text.label {{ fill: #fff; pointer-events: none; }}
svg line.tick {{ stroke: #eee; }}
svg line.group {{ stroke: #bbb; }}
.legend span {{ display: inline-block; padding: 1px 8px; margin-right: 8px; color: #fff;
  border-radius: 3px; }}
</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p class="summary">{html.escape(summary)}</p>
<p class="legend"><span style="background:{COLORS["ok"]}">ok</span>
<span style="background:{COLORS["failed"]}">failed</span>
<span style="background:{COLORS["unfinished"]}">unfinished (worker died)</span>
One row per worker process, grouped by node; hover a bar for details.</p>
{svg}
</body></html>
"""
