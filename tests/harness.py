"""A whole brandkit world for tests: database, sandbox platform, runtime and simulated clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
from sqlalchemy import Engine
from sqlmodel import select

from brandkit.clock import SimulatedClock
from brandkit.config import load_settings
from brandkit.content import TemplateLibrary
from brandkit.db.engine import session_scope
from brandkit.db.models import Account, Variant, Workspace
from brandkit.planner.drafts import draft_post
from brandkit.platforms.sandbox import SandboxConfig, Simulation, create_app
from brandkit.publishing.approval import approve_post, queue_variants
from brandkit.publishing.jobs import JobQueue
from brandkit.publishing.worker import Worker
from brandkit.runtime import Runtime
from tests.factories import SECRETS, make_account, make_workspace

SANDBOX = "http://sandbox.localhost"


@dataclass
class World:
    runtime: Runtime
    simulation: Simulation
    clock: SimulatedClock
    workspace_id: int
    accounts: dict[str, int]

    @property
    def engine(self) -> Engine:
        return self.runtime.engine

    def worker(self) -> Worker:
        return Worker(self.runtime, poll_seconds=1)

    def approve(
        self,
        text: str,
        accounts: Sequence[str],
        due: datetime,
        *,
        override: str | None = None,
        image_url: str | None = None,
    ) -> list[int]:
        """Draft a text post for ``accounts`` and approve it; returns the variant ids."""
        with session_scope(self.engine) as session:
            workspace = session.get(Workspace, self.workspace_id)
            assert workspace is not None
            rows = [session.get(Account, self.accounts[a]) for a in accounts]
            post = draft_post(
                session,
                TemplateLibrary(),
                workspace=workspace,
                profile=None,
                accounts=[r for r in rows if r is not None],
                scheduled_at=due,
                now=self.clock.now(),
                text=text,
                image_url=image_url,
            )
            assert post.id is not None
            ids = approve_post(
                session, post.id, by="owner", now=self.clock.now(), override_reason=override
            )
        with session_scope(self.engine) as session:
            queue_variants(session, self.runtime.queue, ids)
        return ids

    def variant(self, variant_id: int) -> Variant:
        with session_scope(self.engine) as session:
            row = session.get(Variant, variant_id)
            assert row is not None
            return row

    def account(self, name: str) -> Account:
        with session_scope(self.engine) as session:
            row = session.exec(select(Account).where(Account.name == name)).one()
            return row

    def statuses(self, username: str) -> list[str]:
        return [s.text for s in self.simulation.statuses(username)]


async def make_world(
    engine: Engine,
    clock: SimulatedClock,
    home: Path,
    *,
    config: SandboxConfig | None = None,
    grace_minutes: int = 60,
) -> AsyncIterator[World]:
    simulation = Simulation(config or SandboxConfig(seed=1), epoch=clock.now())
    app = create_app(clock=clock, simulation=simulation)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    settings = load_settings(
        home,
        database_url=str(engine.url.render_as_string(False)),
        publish_grace_minutes=grace_minutes,
    )
    runtime = Runtime(
        settings=settings,
        engine=engine,
        secrets=SECRETS,
        http=http,
        queue=JobQueue(engine),
        clock=clock,
    )
    workspace = make_workspace(engine)
    accounts = {
        "dr-yamada": make_account(engine, workspace, name="dr-yamada", token="sandbox-dr_yamada"),
        "clinic": make_account(engine, workspace, name="clinic", token="sandbox-clinic"),
    }
    try:
        yield World(runtime, simulation, clock, workspace, accounts)
    finally:
        await runtime.aclose()
