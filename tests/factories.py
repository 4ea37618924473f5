"""Small row builders for tests that need a workspace, accounts, posts and variants."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography.fernet import Fernet
from sqlalchemy import Engine

from brandkit.db.engine import session_scope
from brandkit.db.models import Account, Post, Variant, Workspace
from brandkit.platforms.base import Credentials
from brandkit.secrets import SecretBox

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
SECRETS = SecretBox(Fernet.generate_key())


def make_workspace(engine: Engine, *, name: str = "さくら内科クリニック") -> int:
    with session_scope(engine) as session:
        workspace = Workspace(name=name)
        session.add(workspace)
        session.flush()
        assert workspace.id is not None
        return workspace.id


def make_account(
    engine: Engine,
    workspace_id: int,
    *,
    name: str = "dr-yamada",
    token: str = "sandbox-dr_yamada",
    base_url: str = "http://sandbox.localhost",
    secrets: SecretBox = SECRETS,
) -> int:
    with session_scope(engine) as session:
        account = Account(
            workspace_id=workspace_id,
            name=name,
            platform="mastodon",
            base_url=base_url,
            credentials_encrypted=secrets.encrypt(Credentials(token=token)),
        )
        session.add(account)
        session.flush()
        assert account.id is not None
        return account.id


def make_variant(
    engine: Engine,
    workspace_id: int,
    account_id: int,
    *,
    state: str = "draft",
    due_at: datetime = T0,
    text: str = "テスト投稿です。",
) -> int:
    with session_scope(engine) as session:
        post = Post(workspace_id=workspace_id, scheduled_at=due_at, language="ja")
        session.add(post)
        session.flush()
        assert post.id is not None
        variant = Variant(
            post_id=post.id, account_id=account_id, text=text, state=state, due_at=due_at
        )
        session.add(variant)
        session.flush()
        assert variant.id is not None
        return variant.id
