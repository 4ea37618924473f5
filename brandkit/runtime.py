"""The objects one brandkit process shares: settings, database, clock, secrets, HTTP client.

Publishing, metrics and the demo take a :class:`Runtime` instead of reaching for globals, so a
test or the demo can swap the clock (simulated weeks) and the HTTP transport (an in-process
sandbox) without touching the code paths a real worker runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from sqlalchemy import Engine

from brandkit.clock import Clock, SystemClock
from brandkit.config import Settings
from brandkit.db.engine import session_scope
from brandkit.db.models import Account
from brandkit.platforms.base import Connector, create_connector
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

    def connector_for(self, account: Account) -> Connector:
        """A connector for ``account`` with its credentials decrypted just for this use."""
        return create_connector(
            account.platform,
            client=self.http,
            base_url=account.base_url,
            credentials=self.secrets.decrypt(account.credentials_encrypted),
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
