"""What the dashboard's tests share (no tests here): a workspace with a user of every role, posts
in chosen states, and a browser-like client over ``httpx.ASGITransport``.

The app is built with a simulated clock and a deliberately cheap Argon2id hasher, so hundreds of
sign-ins take no time; ``tests/test_web_auth.py`` checks the real default parameters.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher
from sqlalchemy import Engine, text
from sqlmodel import select

from brandkit.clock import SimulatedClock
from brandkit.config import Settings
from brandkit.db.engine import session_scope
from brandkit.db.models import Account, Post, Profile, User, Variant, Workspace
from brandkit.platforms import sandbox
from brandkit.platforms.base import Credentials
from brandkit.publishing.approval import approve_and_queue
from brandkit.publishing.jobs import JobQueue
from brandkit.runtime import Runtime
from brandkit.web import create_app
from brandkit.web.ratelimit import LoginLimits
from brandkit.web.users import Passwords, add_user
from tests.factories import SECRETS

PASSWORD = "correct horse battery"
SECRET = b"a-test-only-session-signing-key!"
ROLES = ("owner", "doctor", "marketing")
LOGINS = {"owner": "inchou", "doctor": "yamada", "marketing": "suzuki"}
ERROR_FINDING = {
    "rule": "ja.med.superlative",
    "category": "compliance",
    "severity": "error",
    "start": 0,
    "end": 2,
    "message": "「最高」は医療広告ガイドラインで禁止されている比較優良広告です",
    "source": "医療広告ガイドライン",
}
WARNING_FINDING = {**ERROR_FINDING, "severity": "warning", "rule": "ja.readability"}
CSRF_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')


def cheap_passwords(time_cost: int = 1) -> Passwords:
    """Argon2id at its smallest cost: for tests only."""
    return Passwords(PasswordHasher(time_cost=time_cost, memory_cost=8, parallelism=1))


@dataclass
class World:
    """One workspace: two doctors' profiles, one account, a user of each role, the app."""

    engine: Engine
    clock: SimulatedClock
    home: Path
    workspace_id: int
    profiles: dict[str, int]
    account_id: int
    users: dict[str, int] = field(default_factory=dict)
    passwords: Passwords = field(default_factory=cheap_passwords)
    limits: LoginLimits = field(default_factory=LoginLimits)
    # part 2 (accounts page): the Runtime the app verifies accounts with (a fake transport)
    runtime: Callable[[], Runtime] | None = None
    # part 2 (template editor): the workspace's template_dirs, as brandkit.toml would set them
    template_dirs: tuple[Path, ...] = ()

    def app(self, **overrides: Any) -> Any:
        settings = Settings(
            home=self.home, database_url=str(self.engine.url), template_dirs=self.template_dirs
        )
        options: dict[str, Any] = {
            "clock": self.clock,
            "passwords": self.passwords,
            "limits": self.limits,
            "secret": SECRET,
        }
        if self.runtime is not None:
            options["runtime_factory"] = self.runtime
        options.update(overrides)
        return create_app(settings, self.engine, **options)

    def browser(
        self, *, https: bool = False, address: str = "127.0.0.1", app: Any = None
    ) -> Browser:
        transport = httpx.ASGITransport(app=app or self.app(), client=(address, 50000))
        base = "https://brandkit.test" if https else "http://brandkit.test"
        return Browser(httpx.AsyncClient(transport=transport, base_url=base))

    def post(
        self,
        *,
        profile: str | None = "yamada",
        state: str = "draft",
        at: datetime | None = None,
        findings: list[dict[str, Any]] | None = None,
        text: str = "睡眠のコツ: 寝る前のスマホは控えめに。",
        remote_url: str | None = None,
    ) -> int:
        """A post with one variant; ``state`` is draft, approved (queued), rejected or published."""
        at = at or self.clock.now() + timedelta(days=2)
        with session_scope(self.engine) as session:
            post = Post(
                workspace_id=self.workspace_id,
                profile_id=self.profiles[profile] if profile else None,
                template_name="ja/health_tip",
                scheduled_at=at,
                language="ja",
            )
            session.add(post)
            session.flush()
            assert post.id is not None
            session.add(
                Variant(
                    post_id=post.id,
                    account_id=self.account_id,
                    text=text,
                    length=len(text),
                    findings=findings or [],
                    due_at=at,
                )
            )
            post_id = post.id
        if state in ("approved", "published"):
            with JobQueue(self.engine) as queue:
                approve_and_queue(
                    self.engine,
                    queue,
                    post_id,
                    by="inchou",
                    now=self.clock.now(),
                    override_reason="test" if findings else None,
                )
        if state == "published":
            with session_scope(self.engine) as session:
                variant = session.exec(select(Variant).where(Variant.post_id == post_id)).one()
                variant.state = "published"
                variant.remote_url = remote_url
                variant.remote_id = "109"
                variant.published_at = at
        if state == "rejected":
            with session_scope(self.engine) as session:
                session.get(Post, post_id).state = "rejected"  # type: ignore[union-attr]
                variant = session.exec(select(Variant).where(Variant.post_id == post_id)).one()
                variant.state = "cancelled"
        return post_id

    def get_post(self, post_id: int) -> tuple[Post, list[Variant]]:
        with session_scope(self.engine) as session:
            post = session.get(Post, post_id)
            assert post is not None
            variants = list(session.exec(select(Variant).where(Variant.post_id == post_id)).all())
            return post, variants

    def jobs(self) -> dict[str, float | None]:
        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, next_run_time FROM apscheduler_jobs")).all()
        return {row[0]: row[1] for row in rows}

    def user(self, login: str) -> User | None:
        with session_scope(self.engine) as session:
            return session.exec(select(User).where(User.login == login)).first()

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row that an action could change, to prove that a refused one changed nothing."""
        tables = {
            "post": "SELECT * FROM post ORDER BY id",
            "variant": "SELECT * FROM variant ORDER BY id",
            "user": 'SELECT * FROM "user" ORDER BY id',
            "jobs": "SELECT id, next_run_time FROM apscheduler_jobs ORDER BY id",
            # part 2: what the accounts, goals and calendar pages change
            "account": "SELECT * FROM account ORDER BY id",
            "goal": "SELECT * FROM goal ORDER BY id",
            "slot": "SELECT * FROM slot ORDER BY id",
            # part 2: what the template editor changes (with the files it writes)
            "templaterevision": "SELECT * FROM templaterevision ORDER BY id",
        }
        with self.engine.connect() as conn:
            return {
                name: [tuple(r) for r in conn.execute(text(sql)).all()]
                for name, sql in tables.items()
            }


def build_world(
    engine: Engine,
    clock: SimulatedClock,
    home: Path,
    *,
    locale: str = "ja",
    timezone: str = "Asia/Tokyo",
) -> World:
    with session_scope(engine) as session:
        workspace = Workspace(name="さくら内科クリニック", locale=locale, timezone=timezone)
        session.add(workspace)
        session.flush()
        assert workspace.id is not None
        yamada = Profile(workspace_id=workspace.id, slug="yamada", display_name="山田 花子")
        sato = Profile(workspace_id=workspace.id, slug="sato", display_name="佐藤 一郎")
        account = Account(
            workspace_id=workspace.id,
            name="dr-yamada",
            platform="mastodon",
            base_url="http://sandbox.localhost",
            credentials_encrypted=SECRETS.encrypt(Credentials(token="sandbox-yamada")),
        )
        session.add_all([yamada, sato, account])
        session.flush()
        assert yamada.id and sato.id and account.id
        world = World(
            engine=engine,
            clock=clock,
            home=home,
            workspace_id=workspace.id,
            profiles={"yamada": yamada.id, "sato": sato.id},
            account_id=account.id,
        )
        for role, login in LOGINS.items():
            user = add_user(
                session,
                world.passwords,
                workspace,
                login=login,
                role=role,
                password=PASSWORD,
                profile_slug="yamada" if role == "doctor" else None,
            )
            assert user.id is not None
            world.users[role] = user.id
    return world


class Browser:
    """An httpx client that keeps cookies and sends the page's CSRF token with every form."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.token: str | None = None

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.client.aclose()

    def _remember(self, response: httpx.Response) -> httpx.Response:
        match = CSRF_PATTERN.search(response.text)
        if match:
            self.token = match.group(1)
        return response

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self._remember(await self.client.get(path, **kwargs))

    async def csrf(self) -> str:
        if self.token is None:
            await self.get("/login")
        assert self.token is not None
        return self.token

    async def post(
        self, path: str, data: dict[str, str] | None = None, *, csrf: str | None = "auto"
    ) -> httpx.Response:
        form = dict(data or {})
        if csrf == "auto":
            form["csrf_token"] = await self.csrf()
        elif csrf is not None:
            form["csrf_token"] = csrf
        return self._remember(await self.client.post(path, data=form))

    async def login(self, role_or_login: str, password: str = PASSWORD) -> httpx.Response:
        login = LOGINS.get(role_or_login, role_or_login)
        await self.get("/login")
        response = await self.post("/login", {"login": login, "password": password})
        if response.status_code == 303:
            await self.get("/queue")  # a signed-in page: its token is the session's new one
        return response

    async def follow(self, response: httpx.Response) -> httpx.Response:
        assert response.status_code == 303, response.text[:500]
        return await self.get(response.headers["location"])


def sandbox_runtime(world: World, handler: Any = None) -> Callable[[], Runtime]:
    """Part 2 (accounts page): Runtimes that call the in-process sandbox (or ``handler``, for
    ``httpx.MockTransport``) with the harness's secrets, for ``World.runtime``."""
    app = sandbox.create_app(clock=world.clock) if handler is None else None

    def build() -> Runtime:
        transport: httpx.AsyncBaseTransport = (
            httpx.ASGITransport(app=app) if app is not None else httpx.MockTransport(handler)
        )
        return Runtime(
            settings=Settings(home=world.home, database_url=str(world.engine.url)),
            engine=world.engine,
            secrets=SECRETS,
            http=httpx.AsyncClient(transport=transport),
            queue=JobQueue(world.engine),
            clock=world.clock,
        )

    return build
