"""Meta's 60-day user tokens (Threads, Instagram Login): getting one, and renewing it in time.

Threads and the Instagram API with Instagram Login hand out 1-hour tokens that are swapped for
60-day ones (``GET /access_token?grant_type=th_exchange_token|ig_exchange_token``, with the app
secret) and renewed with ``GET /refresh_access_token?grant_type=th_refresh_token|
ig_refresh_token`` while still valid and at least a day old (threads/get-started/
long-lived-tokens, instagram-platform/instagram-api-with-instagram-login/business-login).
Like Facebook's own token exchange, these calls carry a token in the query string; httpx's
request log line is masked by :mod:`brandkit.platforms.http`. Kept apart from the connectors'
common base (:mod:`brandkit.platforms.graph_connector`): Facebook Page tokens never expire.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final

import httpx

from brandkit.clock import Clock
from brandkit.errors import AuthExpiredError, PlatformError
from brandkit.platforms import fields, http
from brandkit.platforms.api import ApiSession
from brandkit.platforms.base import Credentials
from brandkit.platforms.graph import graph_error
from brandkit.platforms.oauth import credentials_from_token_response

#: Renew a 60-day token this long before it expires: an expired one can no longer be renewed.
RENEW_AHEAD: Final = timedelta(days=7)


def origin(base_url: str) -> str:
    """``https://graph.threads.net`` for ``https://graph.threads.net/v1.0``."""
    url = httpx.URL(base_url)
    return str(url.copy_with(path="/", query=None, fragment=None)).rstrip("/")


class LongLivedTokenAuth:
    """A 60-day Meta user token renewed with ``GET /refresh_access_token`` (Threads, Instagram).

    The token is its own refresh credential, but only while it is valid: an expired one must be
    re-authorised. So :meth:`expires_at` reports the moment to renew (:data:`RENEW_AHEAD` before
    the real expiry), and :meth:`can_refresh` is false once the real expiry has passed.
    """

    def __init__(self, *, grant_type: str, clock: Clock) -> None:
        self.grant_type = grant_type
        self._clock = clock

    def headers(self, credentials: Credentials) -> Mapping[str, str]:
        return {"Authorization": f"Bearer {credentials.token}"}

    def expires_at(self, credentials: Credentials) -> datetime | None:
        expires = http.parse_iso8601(credentials.get("expires_at"))
        return expires - RENEW_AHEAD if expires is not None else None

    def can_refresh(self, credentials: Credentials) -> bool:
        expires = http.parse_iso8601(credentials.get("expires_at"))
        return bool(credentials.token) and (expires is None or expires > self._clock.now())

    async def refresh(self, session: ApiSession, credentials: Credentials) -> Credentials:
        action = "renew the long-lived access token"
        try:
            response = await session.send_unauthenticated(
                "GET",
                origin(session.base_url) + "/refresh_access_token",
                action,
                params={"grant_type": self.grant_type, "access_token": credentials.token},
            )
        except AuthExpiredError as exc:
            error = graph_error(exc.body)
            said = error.describe() if error else exc.reason
            raise AuthExpiredError(
                f"{action} failed: {said}",
                platform=session.platform,
                status=exc.status,
                body=exc.body,
                hint=f"the token expired or was revoked; run: brandkit auth {session.platform}",
            ) from exc
        call = http.Call(session.platform, action, (credentials.token,))
        payload = session.parse(response, lambda d: fields.mapping(d, "token answer"), call)
        return credentials_from_token_response(
            payload, now=session.clock.now(), previous=credentials
        )


async def exchange_for_long_lived(
    session: ApiSession, *, grant_type: str, client_secret: str
) -> Credentials:
    """Swap the session's short-lived token for a 60-day one (``GET /access_token``).

    ``grant_type`` is ``th_exchange_token`` (Threads) or ``ig_exchange_token`` (Instagram); the
    call is server-side only, as it carries the app secret. For ``brandkit auth``.
    """
    credentials = session.credentials
    response = await session.send_unauthenticated(
        "GET",
        origin(session.base_url) + "/access_token",
        "exchange for a long-lived token",
        params={
            "grant_type": grant_type,
            "client_secret": client_secret,
            "access_token": credentials.token,
        },
        extra_secrets=(client_secret,),
    )
    call = http.Call(session.platform, "exchange for a long-lived token", (client_secret,))
    payload = session.parse(response, lambda d: fields.mapping(d, "token answer"), call)
    return credentials_from_token_response(payload, now=session.clock.now(), previous=credentials)


def token_user_id(token_response: Mapping[str, object]) -> str | None:
    """The ``user_id`` of a code-exchange answer (top level, or in ``data[0]`` on Instagram)."""
    data = token_response.get("data")
    found = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
    for source in (token_response, found):
        value = source.get("user_id")
        if isinstance(value, int | str) and not isinstance(value, bool) and str(value):
            return str(value)
    return None


async def long_lived_after_login(
    platform: str,
    *,
    client: httpx.AsyncClient,
    base_url: str,
    credentials: Credentials,
    grant_type: str,
) -> Credentials:
    """The 60-day token for the 1-hour one ``brandkit auth`` just received (needs the secret)."""
    secret = credentials.get("client_secret")
    if not secret:
        raise PlatformError(
            "the app secret is needed to turn the 1-hour token into a 60-day one",
            platform=platform,
            hint=f"run brandkit auth {platform} again with --client-secret-env NAME",
        )
    session = ApiSession(
        platform=platform, client=client, base_url=base_url, credentials=credentials
    )
    return await exchange_for_long_lived(session, grant_type=grant_type, client_secret=secret)
