"""The report benchmark's synthetic workspace, tiny, on both backends: the bulk writers (COPY on
PostgreSQL, ``executemany`` on SQLite) store what the report then reads, planted gaps included."""

from __future__ import annotations

import importlib.util
import sys
from datetime import date, datetime
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select

from brandkit.db.models import AccountSnapshot, Post, PostMetrics, Variant
from brandkit.reports import build_report, render_html

TOKYO = ZoneInfo("Asia/Tokyo")


def bench() -> ModuleType:
    path = Path(__file__).parents[1] / "benchmarks" / "bench_reports.py"
    spec = importlib.util.spec_from_file_location("bench_reports", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_reports"] = module
    spec.loader.exec_module(module)
    return module


def test_a_small_synthetic_workspace_reports_on_both_backends(engine: Engine) -> None:
    b = bench()
    scale = b.Scale(percent=18, days=400)  # 18 accounts (one with an outage), 9,000 posts
    data = b.build_dataset(engine, scale)
    with engine.connect() as conn:

        def count(table: type) -> int:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

        assert count(AccountSnapshot) == data.snapshots == 18 * 400 * 24 - 72  # one outage
        assert count(Post) == count(Variant) == data.posts == 9000
        assert count(PostMetrics) == data.metrics > 4 * 8000
    tz = b.END.tzinfo
    report = build_report(
        engine,
        data.workspace_id,
        start=datetime(2026, 11, 1, tzinfo=tz),
        end=b.END,
        with_posts=False,
        now=b.END,
    )
    assert len(report.accounts) == 18 and report.summary.posts_published > 300
    assert {g.metric for g in report.goals} == {"followers", "engagement_rate", "posts_per_week"}
    assert report.gaps.without_impressions == ("bluesky", "mastodon")
    assert report.posts == ()
    # account id 3 misses hours 7,200–7,271 (Aug 23–25 in Tokyo); id 5 loses 8 % on May 15
    planted = build_report(
        engine,
        data.workspace_id,
        start=datetime(2026, 5, 1, tzinfo=TOKYO),
        end=datetime(2026, 9, 1, tzinfo=TOKYO),
        now=b.END,
    )
    assert planted.resolution == "week"
    missing = {m.account_name: m.runs for m in planted.gaps.missing_days}
    assert missing == {}, missing  # whole weeks only at this length: none is empty
    august = build_report(
        engine,
        data.workspace_id,
        start=datetime(2026, 8, 1, tzinfo=TOKYO),
        end=datetime(2026, 9, 1, tzinfo=TOKYO),
        now=b.END,
    )
    missing = {m.account_name: m.runs for m in august.gaps.missing_days}
    assert missing == {"bench-002": ((date(2026, 8, 23), date(2026, 8, 25)),)}
    may = build_report(
        engine,
        data.workspace_id,
        start=datetime(2026, 5, 1, tzinfo=TOKYO),
        end=datetime(2026, 6, 1, tzinfo=TOKYO),
        now=b.END,
    )
    assert [(d.account_name, d.day) for d in may.gaps.follower_drops] == [
        ("bench-004", date(2026, 5, 15))
    ]
    assert "<svg" in render_html(report)
    assert data.seconds < 60
    assert date(2026, 11, 30) == report.last_day
