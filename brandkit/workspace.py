"""Creating and opening a workspace: its config file, database, secret key and first rows."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from brandkit.clock import Clock, SystemClock
from brandkit.config import CONFIG_FILENAME, Settings, load_settings, render_config_file
from brandkit.db.engine import make_engine, session_scope
from brandkit.db.migrate import open_database
from brandkit.db.models import Account, Profile, Workspace
from brandkit.errors import ConfigError, InvalidInputError, NotFoundError
from brandkit.platforms.base import Credentials, get_connector_class
from brandkit.publishing.jobs import JobQueue
from brandkit.runtime import Runtime, default_http_client
from brandkit.secrets import SecretBox


def init_workspace(
    home: Path,
    *,
    name: str,
    timezone: str = "Asia/Tokyo",
    locale: str = "ja",
    database_url: str | None = None,
    contact: Mapping[str, str | None] | None = None,
) -> tuple[Settings, Engine]:
    """Write brandkit.toml (if absent), create the secret key and the database schema."""
    values: dict[str, str] = {"timezone": timezone, "locale": locale}
    if database_url:
        values["database_url"] = database_url
    config_file = home / CONFIG_FILENAME
    fresh = not config_file.exists()
    # validate before writing anything, so a typo never leaves a half-made workspace behind
    settings = (
        load_settings(home, timezone=timezone, locale=locale, database_url=database_url)
        if fresh
        else load_settings(home)
    )
    make_engine(settings.database_url).dispose()
    home.mkdir(parents=True, exist_ok=True)
    if fresh:
        config_file.write_text(render_config_file(values), encoding="utf-8")
    SecretBox.from_key_file(settings.secret_key_file, create=True)
    engine = open_database(settings.database_url, create=True)
    given = {k: v for k, v in (contact or {}).items() if v}
    with session_scope(engine) as session:
        workspace = session.exec(select(Workspace)).first()
        if workspace is None:
            workspace = Workspace(name=name, timezone=settings.timezone, locale=settings.locale)
            session.add(workspace)
        for key, value in given.items():  # phone, email, address: also updated on a re-run
            setattr(workspace, key, value)
    return settings, engine


def sync_workspace_settings(engine: Engine, settings: Settings) -> None:
    """brandkit.toml is the one source of the time zone and locale; the row follows it."""
    with session_scope(engine) as session:
        workspace = session.exec(select(Workspace).order_by(col(Workspace.id))).first()
        if workspace is not None and (workspace.timezone, workspace.locale) != (
            settings.timezone,
            settings.locale,
        ):
            workspace.timezone = settings.timezone
            workspace.locale = settings.locale


def current_workspace(session: Session) -> Workspace:
    workspace = session.exec(select(Workspace).order_by(Workspace.id)).first()  # type: ignore[arg-type]
    if workspace is None:
        raise NotFoundError("workspace", "(none)", hint="run 'brandkit init'")
    return workspace


def default_profile(session: Session, workspace: Workspace) -> Profile | None:
    return session.exec(
        select(Profile).where(Profile.workspace_id == workspace.id).order_by(Profile.id)  # type: ignore[arg-type]
    ).first()


def build_runtime(
    settings: Settings,
    engine: Engine,
    *,
    clock: Clock | None = None,
    http: httpx.AsyncClient | None = None,
) -> Runtime:
    return Runtime(
        settings=settings,
        engine=engine,
        secrets=SecretBox.from_key_file(settings.secret_key_file),
        http=http or default_http_client(settings.http_timeout),
        queue=JobQueue(engine),
        clock=clock or SystemClock(),
    )


def add_account(
    session: Session,
    secrets: SecretBox,
    workspace: Workspace,
    *,
    platform: str,
    name: str,
    base_url: str,
    token: str | None = None,
    credentials: Credentials | None = None,
    profile: Profile | None = None,
) -> Account:
    """Store a new account with its credentials encrypted; the platform must have a connector.

    Pass either ``token`` (a bare access token) or the complete ``credentials`` (token plus
    ``extra``: user ids, refresh token, client id…).
    """
    get_connector_class(platform)
    if credentials is None:
        credentials = Credentials(token=(token or "").strip())
    if not credentials.token.strip():
        raise InvalidInputError("the access token is empty")
    if not base_url.startswith(("http://", "https://")):
        raise InvalidInputError(f"base URL {base_url!r} must start with https:// or http://")
    if session.exec(select(Account).where(Account.name == name)).first() is not None:
        raise InvalidInputError(
            f"an account named {name!r} already exists",
            hint="choose another --name or remove the old one",
        )
    assert workspace.id is not None
    account = Account(
        workspace_id=workspace.id,
        profile_id=profile.id if profile else None,
        name=name,
        platform=platform,
        base_url=base_url.rstrip("/"),
        credentials_encrypted=secrets.encrypt(credentials),
    )
    session.add(account)
    session.flush()
    return account


def require_config(settings: Settings) -> None:
    """Refuse to work outside a workspace before SQLite would create an empty file here."""
    sqlite_file = settings.database_url.removeprefix("sqlite:///")
    is_sqlite = settings.database_url.startswith("sqlite:///")
    if settings.config_file is None and is_sqlite and not Path(sqlite_file).exists():
        raise ConfigError(
            f"no brandkit workspace in {settings.home}",
            hint="run 'brandkit init' here, or set BRANDKIT_HOME to your workspace",
        )
