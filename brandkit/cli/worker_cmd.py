"""``brandkit worker``: publish what is due and sync metrics, until stopped (or once)."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated

import typer

from brandkit.cli.output import emit_json
from brandkit.cli.state import console, state
from brandkit.publishing.worker import Worker
from brandkit.workspace import build_runtime


def worker(
    ctx: typer.Context,
    once: Annotated[
        bool,
        typer.Option(
            "--once", help="Run what is due now, then exit (for cron and systemd timers)."
        ),
    ] = False,
    poll: Annotated[float, typer.Option(help="Seconds between checks when idle.")] = 30.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary (--once).")] = False,
) -> None:
    """Run the publishing worker (the same as 'python scheduler.py').

    On start it reconciles the database with the job store; SIGTERM or Ctrl-C stop it after
    the publishes in flight have finished.

    Example: brandkit worker --once
    """
    st = state(ctx)
    runtime = build_runtime(st.settings(), st.engine())

    async def main() -> None:
        w = Worker(runtime, poll_seconds=poll)
        try:
            if once:
                stats = await w.run_once()
            else:
                stop = asyncio.Event()
                loop = asyncio.get_running_loop()
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.add_signal_handler(sig, stop.set)
                console.print("brandkit worker running; Ctrl-C to stop.")
                stats = await w.run_forever(stop)
        finally:
            await runtime.aclose()
        rec = stats.reconcile
        summary = {
            "jobs_run": stats.jobs_run,
            "recovered_in_flight": rec.recovered_in_flight if rec else 0,
            "jobs_added": rec.jobs_added if rec else 0,
            "jobs_removed": rec.jobs_removed if rec else 0,
        }
        if as_json:
            emit_json(summary)
        else:
            console.print(
                f"worker: {summary['jobs_run']} job(s) run; reconciled "
                f"+{summary['jobs_added']} / -{summary['jobs_removed']} jobs, "
                f"{summary['recovered_in_flight']} in-flight recovered"
            )

    asyncio.run(main())
