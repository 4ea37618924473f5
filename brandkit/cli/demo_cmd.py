"""``brandkit demo``: twelve simulated weeks of a clinic's posting, offline."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from brandkit.cli.state import console
from brandkit.demo import run_demo


def demo(
    directory: Annotated[
        Path, typer.Option("--dir", help="An empty directory for the demo.")
    ] = Path("brandkit-demo"),
    weeks: Annotated[int, typer.Option(help="Weeks of history to simulate.")] = 12,
    seed: Annotated[int, typer.Option(help="Seed of the simulated platform.")] = 0,
) -> None:
    """Run the whole job offline: draft, approve, queue, publish, sync, report.

    A sample Japanese doctor with two accounts on the built-in sandbox platform posts from a
    weekly calendar; the worker publishes on a simulated clock and the report shows the result.

    Example: brandkit demo --dir ./demo --weeks 12 --seed 7
    """
    with Progress(
        TextColumn("[bold]simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("weeks"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("weeks", total=weeks)
        summary = asyncio.run(
            run_demo(
                directory,
                weeks=weeks,
                seed=seed,
                on_week=lambda done, total: progress.update(task, completed=done),
            )
        )
    console.print(f"[bold]brandkit demo[/] — {weeks} weeks from {summary.first_day}, seed {seed}")
    for name, (first, last) in summary.followers.items():
        change = last - first
        pct = 100 * change / first if first else 0.0
        console.print(
            f"  {name:<14} followers {first:>6,} → {last:>6,}  ({change:+,}, {pct:+.1f}%)"
        )
    states = ", ".join(f"{k} {v}" for k, v in sorted(summary.states.items()))
    console.print(f"  posts: {states}")
    if summary.best_template:
        console.print(
            f"  best template: {summary.best_template}; best hour: {summary.best_hour}:00"
        )
    console.print(f"  report: {summary.report_path}")
    console.print(
        f"  workspace: {summary.directory} (try: brandkit --home {summary.directory} report)"
    )
