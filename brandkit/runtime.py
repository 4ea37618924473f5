"""The objects one brandkit process shares: settings, database, clock, secrets, HTTP client.

Publishing, metrics and the demo take a :class:`Runtime` instead of reaching for globals, so a
test or the demo can swap the clock (simulated weeks) and the HTTP transport (an in-process
sandbox) without touching the code paths a real worker runs.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import httpx
from sqlalchemy import Engine

from brandkit.clock import Clock, SystemClock
from brandkit.config import Settings
from brandkit.db.engine import session_scope
from brandkit.db.models import Account
from brandkit.errors import NotFoundError
from brandkit.platforms.api import ConnectorContext, RateLimitBook, RetryPolicy
from brandkit.platforms.base import Connector, Credentials, create_connector
from brandkit.publishing.jobs import JobQueue
from brandkit.secrets import SecretBox

USER_AGENT = "brandkit (+https://github.com/brandkit)"


def default_http_client(timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        headers={"User-Agent": USER_AGENT},
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
    )


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    secrets: SecretBox
    http: httpx.AsyncClient
    queue: JobQueue
    clock: Clock = field(default_factory=SystemClock)
    # one book per runtime: every connector of this process's accounts shares it, and tests
    # (or two workspaces in one process) cannot leak a spent bucket into each other
    limits: RateLimitBook = field(default_factory=RateLimitBook)
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def connector_for(self, account: Account) -> Connector:
        """A connector for ``account`` with its credentials decrypted just for this use.

        Its context shares this process's rate-limit book, so every connector of one account
        (the publisher's, the sync's) waits on the same bucket, and saves refreshed tokens to
        the account's row.
        """
        assert account.id is not None
        return create_connector(
            account.platform,
            client=self.http,
            base_url=account.base_url,
            credentials=self.secrets.decrypt(account.credentials_encrypted),
            context=ConnectorContext(
                clock=self.clock,
                limits=self.limits,
                retry=self.retry,
                account_key=f"account:{account.id}",
                store=AccountCredentialStore(self.engine, self.secrets, account.id),
            ),
        )

    def mark_account(
        self, account_id: int | None, *, status: str | None = None, error: str | None = None
    ) -> None:
        """Record what a platform said about an account (e.g. ``needs_reauth``)."""
        with session_scope(self.engine) as session:
            account = session.get(Account, account_id)
            if account is not None:
                account.last_error = error
                if status:
                    account.status = status

    async def aclose(self) -> None:
        await self.http.aclose()
        self.queue.close()


@dataclass(frozen=True)
class AccountCredentialStore:
    """An account's encrypted credentials column as a :class:`CredentialStore`.

    Reads and writes are short transactions run in a thread, so a token refresh in the
    worker's event loop never blocks other publishes on the database.
    """

    engine: Engine
    secrets: SecretBox
    account_id: int

    async def load(self) -> Credentials:
        return await asyncio.to_thread(self._load)

    async def save(self, credentials: Credentials) -> None:
        await asyncio.to_thread(self._save, credentials)

    def _load(self) -> Credentials:
        with session_scope(self.engine) as session:
            account = session.get(Account, self.account_id)
            if account is None:
                raise NotFoundError("account", self.account_id)
            return self.secrets.decrypt(account.credentials_encrypted)

    def _save(self, credentials: Credentials) -> None:
        with session_scope(self.engine) as session:
            account = session.get(Account, self.account_id)
            if account is None:
                raise NotFoundError("account", self.account_id)
            account.credentials_encrypted = self.secrets.encrypt(credentials)
