"""``brandkit worker``: publish what is due, sync metrics and write the weekly report, until
stopped (or once)."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated

import typer
from rich.markup import escape

from brandkit.cli.output import emit_json
from brandkit.cli.state import console, state
from brandkit.publishing.leadership import leadership_for
from brandkit.publishing.worker import (
    CONCURRENCY,
    STANDBY_POLL,
    Role,
    Worker,
    worker_http_pools,
)
from brandkit.workspace import build_runtime


def worker(
    ctx: typer.Context,
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="Run what is due now, then exit (for cron and systemd timers). Does nothing, "
            "successfully, while another worker is running on the same database.",
        ),
    ] = False,
    poll: Annotated[float, typer.Option(help="Seconds between checks when idle.")] = 30.0,
    standby_poll: Annotated[
        float,
        typer.Option(help="Seconds between attempts to take over, while another worker leads."),
    ] = STANDBY_POLL,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary (--once).")] = False,
) -> None:
    """Run the publishing worker (the same as 'python scheduler.py').

    Besides publishing and syncing metrics, it writes last week's report into reports_dir on
    report_day at report_time (settings); a report due while no worker ran is written when
    one starts, once.

    Only one worker publishes per database. A second one waits as a standby and takes over
    within seconds when the first one stops or dies; 'worker --once' started while another
    worker runs does nothing and exits 0, so cron beside a daemon is safe. On start (and on
    takeover) it reconciles the database with the job store; SIGTERM or Ctrl-C stop it after
    the publishes in flight have finished.

    Example: brandkit worker --once
    """
    st = state(ctx)
    engine = st.engine()
    settings = st.settings()
    runtime = build_runtime(settings, engine)
    pools = worker_http_pools(settings.http_timeout)

    def on_role(role: Role, message: str) -> None:
        if not once:
            console.print(f"{role}: {escape(message)}", highlight=False)

    async def main() -> None:
        w = Worker(
            runtime,
            poll_seconds=poll,
            concurrency=CONCURRENCY,
            http_pools=pools,
            leadership=leadership_for(engine),
            standby_poll=standby_poll,
            on_role=on_role,
        )
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
            for pool in pools:
                await pool.aclose()
            await runtime.aclose()
        rec = stats.reconcile
        summary = {
            "standby": stats.standby,
            "jobs_run": stats.jobs_run,
            "recovered_in_flight": rec.recovered_in_flight if rec else 0,
            "jobs_added": rec.jobs_added if rec else 0,
            "jobs_removed": rec.jobs_removed if rec else 0,
        }
        if as_json:
            emit_json(summary)
        elif stats.standby:
            console.print(
                "worker --once: another worker is running on this database and publishes what "
                "is due; nothing done",
                highlight=False,
            )
        else:
            console.print(
                f"worker: {summary['jobs_run']} job(s) run; reconciled "
                f"+{summary['jobs_added']} / -{summary['jobs_removed']} jobs, "
                f"{summary['recovered_in_flight']} in-flight recovered"
            )

    asyncio.run(main())
