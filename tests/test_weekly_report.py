"""The worker's weekly report: written on the configured day and time, once a week, on both
databases, also when the worker was down at that moment, and moved when the settings change."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import Engine

from brandkit.clock import SimulatedClock
from brandkit.config import load_settings
from brandkit.db.engine import session_scope
from brandkit.db.models import Workspace
from brandkit.publishing.jobs import REPORT_PREFIX, JobQueue
from brandkit.publishing.worker import Worker
from brandkit.reports import weekly
from brandkit.runtime import Runtime
from tests.factories import SECRETS, make_workspace

TOKYO = ZoneInfo("Asia/Tokyo")


def jst(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=TOKYO)


class StopAt(SimulatedClock):
    """A simulated clock that sets ``stop`` when it reaches ``until`` instead of passing it."""

    def __init__(self, start: datetime, until: datetime, stop: asyncio.Event) -> None:
        super().__init__(start)
        self.until, self.stop = until, stop

    async def sleep(self, seconds: float) -> None:
        self.set(min(self.now() + timedelta(seconds=max(0.0, seconds)), self.until))
        if self.now() >= self.until:
            self.stop.set()
        await asyncio.sleep(0)


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The ``now`` of every weekly report written, in order (the files are written too)."""
    calls: list[datetime] = []
    real = weekly.write_weekly_report

    def counting(*args: Any, **kwargs: Any) -> Path:
        calls.append(kwargs["now"])
        return real(*args, **kwargs)

    monkeypatch.setattr(weekly, "write_weekly_report", counting)
    return calls


@pytest.fixture
async def runtime(engine: Engine, clock: SimulatedClock, tmp_path: Path) -> AsyncIterator[Runtime]:
    """A workspace without accounts (so the report job is the only job), due Tuesdays 07:30."""
    make_workspace(engine)
    home = tmp_path / "clinic"
    home.mkdir()
    settings = load_settings(home, database_url=engine.url.render_as_string(False))
    rt = Runtime(
        settings=replace(settings, report_day="tue", report_time="07:30"),
        engine=engine,
        secrets=SECRETS,
        http=httpx.AsyncClient(transport=httpx.MockTransport(lambda _: httpx.Response(500))),
        queue=JobQueue(engine),
        clock=clock,
    )
    yield rt
    await rt.aclose()


async def once_at(runtime: Runtime, moment: datetime) -> None:
    """``brandkit worker --once`` at ``moment``."""
    assert isinstance(runtime.clock, SimulatedClock)
    runtime.clock.set(moment)
    await Worker(runtime).run_once()


def next_run(runtime: Runtime, workspace_id: int = 1) -> datetime | None:
    job = runtime.queue.get(f"{REPORT_PREFIX}{workspace_id}")
    return None if job is None else job.next_run_time.astimezone(UTC)


async def test_written_at_the_configured_time_not_before_and_once_a_week(
    runtime: Runtime, written: list[datetime]
) -> None:
    folder = runtime.settings.reports_dir
    await once_at(runtime, jst(23, 9))  # Monday: the worker starts and schedules Tuesday 07:30
    assert next_run(runtime) == jst(24, 7, 30)
    await once_at(runtime, jst(24, 7, 29, 59))
    assert written == [] and not folder.exists()
    await once_at(runtime, jst(24, 7, 30))
    assert written == [jst(24, 7, 30)]
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["report-2026-W47.csv", "report-2026-W47.html", "report-2026-W47.json"]
    html = (folder / "report-2026-W47.html").read_text(encoding="utf-8")
    assert "2026-11-16 – 2026-11-22" in html
    data = json.loads((folder / "report-2026-W47.json").read_text(encoding="utf-8"))
    assert (data["first_day"], data["last_day"]) == ("2026-11-16", "2026-11-22")
    table = csv.reader(io.StringIO((folder / "report-2026-W47.csv").read_text(encoding="utf-8")))
    assert next(table)[0] == "table"
    await once_at(runtime, jst(24, 12))
    await once_at(runtime, jst(30, 23))
    assert len(written) == 1 and next_run(runtime) == jst(1, 7, 30, month=12)
    await once_at(runtime, jst(1, 7, 30, month=12))
    assert written == [jst(24, 7, 30), jst(1, 7, 30, month=12)]
    assert (folder / "report-2026-W48.html").exists()


async def test_run_forever_writes_each_week_at_its_moment(
    runtime: Runtime, written: list[datetime]
) -> None:
    stop = asyncio.Event()
    runtime.clock = StopAt(jst(23, 9), jst(14, 12, month=12), stop)
    worker = Worker(runtime, poll_seconds=6 * 3600)
    await asyncio.wait_for(worker.run_forever(stop), timeout=60)
    due = [jst(24, 7, 30), jst(1, 7, 30, month=12), jst(8, 7, 30, month=12)]
    assert written == due
    assert sorted(p.name for p in runtime.settings.reports_dir.glob("*.html")) == [
        "report-2026-W47.html",
        "report-2026-W48.html",
        "report-2026-W49.html",
    ]


async def test_a_report_due_while_the_worker_was_down_is_written_once_when_it_starts(
    runtime: Runtime, written: list[datetime]
) -> None:
    await once_at(runtime, jst(23, 9))
    await once_at(runtime, jst(2, 10, month=12))  # down over two Tuesdays
    assert written == [jst(1, 7, 30, month=12)]  # the last one due: the week of Nov 23–29
    assert (runtime.settings.reports_dir / "report-2026-W48.html").exists()
    assert next_run(runtime) == jst(8, 7, 30, month=12)
    await once_at(runtime, jst(2, 11, month=12))
    assert len(written) == 1


async def test_a_new_day_or_time_in_the_settings_moves_the_job_at_start(
    runtime: Runtime, written: list[datetime]
) -> None:
    await once_at(runtime, jst(23, 9))
    assert next_run(runtime) == jst(24, 7, 30)
    again = Worker(runtime)
    await again.run_once()
    assert again.stats.reconcile is not None and again.stats.reconcile.jobs_added == 0
    runtime.settings = replace(runtime.settings, report_day="fri", report_time="18:00")
    await once_at(runtime, jst(23, 10))
    assert next_run(runtime) == jst(27, 18)
    await once_at(runtime, jst(27, 18))
    assert written == [jst(27, 18)]


async def test_the_time_is_wall_clock_time_across_a_dst_change(
    runtime: Runtime, engine: Engine, written: list[datetime]
) -> None:
    with session_scope(engine) as session:
        workspace = session.get(Workspace, 1)
        assert workspace is not None
        workspace.timezone = "Europe/London"  # summer time ends on Sunday 2026-10-25
    runtime.settings = replace(runtime.settings, report_day="sun", report_time="08:00")
    stop = asyncio.Event()
    start = datetime(2026, 10, 12, 12, tzinfo=UTC)
    runtime.clock = StopAt(start, datetime(2026, 11, 2, tzinfo=UTC), stop)
    await asyncio.wait_for(Worker(runtime, poll_seconds=86_400).run_forever(stop), timeout=60)
    assert written == [
        datetime(2026, 10, 18, 7, tzinfo=UTC),  # 08:00 BST
        datetime(2026, 10, 25, 8, tzinfo=UTC),  # 08:00 GMT
        datetime(2026, 11, 1, 8, tzinfo=UTC),
    ]


def test_last_due_is_the_latest_moment_at_or_before_now() -> None:
    assert weekly.last_due(jst(24, 7, 30), "tue", "07:30", TOKYO) == jst(24, 7, 30)
    assert weekly.last_due(jst(24, 7, 29), "tue", "07:30", TOKYO) == jst(17, 7, 30)
    assert weekly.last_due(jst(29, 23), "mon", "08:00", TOKYO) == jst(23, 8)
