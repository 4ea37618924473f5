"""``brandkit demo``: twelve weeks of a Japanese clinic's posting, run through the real code.

The demo creates a workspace for a sample doctor with two Mastodon accounts on the in-process
sandbox, plans each week from the calendar, approves the drafts, and lets the worker publish and
sync on a simulated clock. Every number in the report came from the sandbox through the Mastodon
connector; nothing is invented here. Deterministic for a seed: the start date is fixed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from brandkit.clock import SimulatedClock
from brandkit.config import CONFIG_FILENAME
from brandkit.content import TemplateLibrary
from brandkit.db.engine import session_scope
from brandkit.db.models import (
    Account,
    AccountSnapshot,
    Post,
    Profile,
    Slot,
    User,
    Variant,
    Workspace,
)
from brandkit.errors import InvalidInputError
from brandkit.metrics.sync import sync_accounts
from brandkit.planner.calendar import local_to_utc, parse_local_time
from brandkit.planner.plan import plan_week
from brandkit.planner.sources import SlotContent
from brandkit.platforms.sandbox import SandboxConfig, create_app
from brandkit.publishing.approval import approve_post, queue_variants
from brandkit.publishing.worker import Worker
from brandkit.reports import Report, build_report, render_html
from brandkit.runtime import Runtime
from brandkit.secrets import SecretBox
from brandkit.workspace import add_account, build_runtime, init_workspace

DEMO_START = date(2026, 8, 31)  # a Monday; twelve weeks end on 2026-11-23
SANDBOX_URL = "http://sandbox.localhost"
TOPICS_FILE = Path(__file__).with_name("demo_topics.yaml")
DEMO_ACCOUNTS = (
    ("dr-yamada", "sandbox-dr_yamada"),
    ("sakura-clinic", "sandbox-sakura_clinic"),
)
DEMO_SLOTS: tuple[tuple[int, str, str, list[str]], ...] = (
    (0, "07:30", "ja/health_tip", ["dr-yamada", "sakura-clinic"]),
    (1, "12:15", "ja/seasonal_alert", ["dr-yamada", "sakura-clinic"]),
    (2, "20:00", "ja/paper_intro", ["dr-yamada"]),
    (3, "23:30", "ja/conference_report", ["dr-yamada"]),
    (4, "18:00", "ja/clinic_news", ["sakura-clinic"]),
    (5, "10:00", "ja/study_session", ["dr-yamada"]),
    (6, "21:00", "ja/health_tip", ["dr-yamada"]),
)


@dataclass
class DemoSummary:
    directory: Path
    report_path: Path
    start: datetime
    end: datetime
    first_day: date
    followers: dict[str, tuple[int, int]] = field(default_factory=dict)
    states: dict[str, int] = field(default_factory=dict)
    best_hour: int | None = None
    best_template: str | None = None
    mean_engagement: float | None = None


class DemoTopics:
    """Cycles through the topic lists in a seeded order, one step per use."""

    def __init__(self, seed: int) -> None:
        data: dict[str, list[dict[str, Any]]] = yaml.safe_load(
            TOPICS_FILE.read_text(encoding="utf-8")
        )
        rng = random.Random(seed)
        self._lists = {name: rng.sample(items, len(items)) for name, items in data.items()}
        self._used: dict[str, int] = {}

    def content_for(self, slot: Slot, day: date) -> SlotContent:
        assert slot.template is not None  # the demo's slots all name a template
        items = self._lists[slot.template]
        index = self._used.get(slot.template, 0)
        self._used[slot.template] = index + 1
        return SlotContent(slot.template, dict(items[index % len(items)]), source="demo")

    def record_use(self, content: SlotContent, post: Post) -> None:
        """The demo's lists are cycled, never used up."""


def check_empty(directory: Path) -> None:
    if (directory / CONFIG_FILENAME).exists() or (directory / "brandkit.db").exists():
        raise InvalidInputError(
            f"{directory} already holds a brandkit workspace",
            hint="run the demo with --dir pointing at a new or empty directory",
        )


def _setup(session: Session, secrets: SecretBox, workspace: Workspace) -> None:
    profile = Profile(
        workspace_id=workspace.id or 0,
        slug="yamada",
        display_name="山田 花子",
        specialty="内科",
        affiliation="さくら内科クリニック 院長",
        credentials="日本内科学会 総合内科専門医",
        bio="地域のかかりつけ医として、健康情報を発信しています。",
    )
    session.add(profile)
    session.add(User(workspace_id=workspace.id or 0, login="owner", role="owner"))
    session.flush()
    for name, token in DEMO_ACCOUNTS:
        add_account(
            session,
            secrets,
            workspace,
            platform="mastodon",
            name=name,
            base_url=SANDBOX_URL,
            token=token,
            profile=profile,
        )
    for weekday, at, template, accounts in DEMO_SLOTS:
        session.add(
            Slot(
                workspace_id=workspace.id or 0,
                weekday=weekday,
                local_time=at,
                template=template,
                accounts=accounts,
            )
        )


async def run_demo(
    directory: Path,
    *,
    weeks: int = 12,
    seed: int = 0,
    on_week: Callable[[int, int], None] | None = None,
) -> DemoSummary:
    if not 1 <= weeks <= 104:
        raise InvalidInputError(f"--weeks {weeks} must be between 1 and 104")
    directory = directory.resolve()
    check_empty(directory)
    settings, engine = init_workspace(directory, name="さくら内科クリニック")
    tz = settings.tz
    start = local_to_utc(DEMO_START, parse_local_time("00:00"), tz)
    end = start + timedelta(weeks=weeks)
    clock = SimulatedClock(start - timedelta(days=2))
    sandbox = create_app(clock=clock, config=SandboxConfig(seed=seed, timezone=settings.timezone))
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), timeout=30)
    runtime = build_runtime(settings, engine, clock=clock, http=http)
    library = TemplateLibrary(settings.template_dirs)
    topics = DemoTopics(seed)
    try:
        with session_scope(engine) as session:
            workspace = session.exec(select(Workspace)).one()
            _setup(session, runtime.secrets, workspace)
        worker = Worker(runtime)
        worker.start()
        for week in range(weeks):
            monday = DEMO_START + timedelta(weeks=week)
            _plan_and_approve(runtime, library, topics, monday)
            await _run_until(worker, clock, start + timedelta(weeks=week + 1))
            if on_week:
                on_week(week + 1, weeks)
        await sync_accounts(runtime)
        report = build_report(engine, workspace.id or 0, start=start, end=end)
        report_path = directory / "report.html"
        report_path.write_text(render_html(report), encoding="utf-8")
        return _summarise(engine, directory, report_path, start, end, report)
    finally:
        await runtime.aclose()
        engine.dispose()


def _plan_and_approve(
    runtime: Runtime, library: TemplateLibrary, topics: DemoTopics, monday: date
) -> None:
    """Saturday before the week: plan it, and the owner approves every draft."""
    now = runtime.clock.now()
    with session_scope(runtime.engine) as session:
        workspace = session.exec(select(Workspace)).one()
        profile = session.exec(select(Profile)).first()
        posts = plan_week(
            session,
            library,
            workspace=workspace,
            profile=profile,
            monday=monday,
            now=now,
            topics=topics,
        )
        queued: list[int] = []
        for post in posts:
            assert post.id is not None
            queued += approve_post(session, post.id, by="owner", now=now)
    with session_scope(runtime.engine) as session:
        queue_variants(session, runtime.queue, queued)


async def _run_until(worker: Worker, clock: SimulatedClock, until: datetime) -> None:
    """Jump the simulated clock from one due job to the next, running each on time."""
    queue = worker.runtime.queue
    while True:
        next_run = queue.next_run_time()
        if next_run is None or next_run >= until:
            break
        if next_run > clock.now():
            clock.set(next_run)
        await worker.run_pending()
    plan_at = until - timedelta(days=2)
    if clock.now() < plan_at:
        clock.set(plan_at)


def _summarise(
    engine: Engine,
    directory: Path,
    report_path: Path,
    start: datetime,
    end: datetime,
    report: Report,
) -> DemoSummary:
    summary = DemoSummary(directory, report_path, start, end, DEMO_START)
    with session_scope(engine) as session:
        for account in session.exec(select(Account)).all():
            snaps = session.exec(
                select(AccountSnapshot.followers)
                .where(AccountSnapshot.account_id == account.id)
                .order_by(AccountSnapshot.taken_at)  # type: ignore[arg-type]
            ).all()
            if snaps:
                summary.followers[account.name] = (snaps[0], snaps[-1])
        rows = session.exec(select(Variant.state, func.count()).group_by(Variant.state)).all()
        summary.states = {state: count for state, count in rows}
    summary.best_hour = report.summary.best_hour
    summary.best_template = report.summary.best_template
    summary.mean_engagement = report.summary.mean_engagement_rate
    return summary


__all__ = ["DEMO_START", "DemoSummary", "run_demo"]
