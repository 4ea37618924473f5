"""OAuth 2.0 pieces the connectors share: what a platform's flow looks like, and token refresh.

A connector that uses OAuth declares an :class:`OAuthSpec` (its authorize and token endpoints,
scopes, whether it takes PKCE); ``brandkit auth PLATFORM`` runs the authorization-code flow from
it, and :class:`OAuth2RefreshAuth` renews tokens with the ``refresh_token`` grant (RFC 6749 §6).
Credentials carry what refresh needs in ``extra``: ``refresh_token``, ``expires_at`` (ISO 8601
UTC), ``client_id`` and, for confidential clients, ``client_secret``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from brandkit.errors import AuthExpiredError
from brandkit.platforms import fields, http
from brandkit.platforms.api import ApiSession
from brandkit.platforms.base import Credentials


@dataclass(frozen=True, slots=True)
class OAuthSpec:
    """One platform's OAuth 2.0 authorization-code flow, as its documentation describes it.

    ``authorize_url`` and ``token_url`` may be relative to the account's base URL (Mastodon:
    every instance is its own server). ``client_auth`` says how a
    confidential client proves itself at the token endpoint: ``"basic"`` (HTTP Basic, X) or
    ``"body"`` (``client_id``/``client_secret`` form fields, LinkedIn and Google).
    """

    authorize_url: str
    token_url: str
    scopes: tuple[str, ...]
    pkce: bool = True
    client_auth: str = "body"
    scope_separator: str = " "
    docs: str = ""


def basic_auth(client_id: str, secret: str) -> str:
    """An RFC 6749 §2.3.1 ``Authorization: Basic`` value (both parts form-url-encoded first)."""
    pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return "Basic " + base64.b64encode(pair).decode()


def credentials_from_token_response(
    payload: Mapping[str, object], *, now: datetime, previous: Credentials | None = None
) -> Credentials:
    """Credentials from a token endpoint's JSON (``access_token``, ``expires_in``…).

    A refresh answer may omit ``refresh_token`` (Google keeps the old one valid), so the
    previous one is kept unless a new one arrives; X rotates it on every refresh.
    """
    token = fields.string(payload, "access_token")
    expires_in = fields.opt_int(payload, "expires_in")
    expires_at = (now + timedelta(seconds=expires_in)).isoformat() if expires_in else None
    base = previous or Credentials(token=token)
    return base.with_updates(
        token=token,
        refresh_token=fields.opt_string(payload, "refresh_token") or base.get("refresh_token"),
        expires_at=expires_at,
        scope=fields.opt_string(payload, "scope") or base.get("scope"),
    )


class OAuth2RefreshAuth:
    """Bearer tokens renewed through the ``refresh_token`` grant at ``spec.token_url``."""

    def __init__(self, spec: OAuthSpec) -> None:
        self.spec = spec

    def headers(self, credentials: Credentials) -> Mapping[str, str]:
        return {"Authorization": f"Bearer {credentials.token}"}

    def expires_at(self, credentials: Credentials) -> datetime | None:
        return http.parse_iso8601(credentials.get("expires_at"))

    def can_refresh(self, credentials: Credentials) -> bool:
        return bool(credentials.get("refresh_token") and credentials.get("client_id"))

    async def refresh(self, session: ApiSession, credentials: Credentials) -> Credentials:
        refresh_token = credentials.get("refresh_token")
        client_id = credentials.get("client_id")
        if not refresh_token or not client_id:
            raise AuthExpiredError(
                "the access token expired and no refresh token is stored",
                platform=session.platform,
                hint=f"re-authorise: brandkit auth {session.platform}",
            )
        secret = credentials.get("client_secret")
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        headers: dict[str, str] = {}
        if self.spec.client_auth == "basic" and secret:
            headers["Authorization"] = basic_auth(client_id, secret)
        else:
            form["client_id"] = client_id
            if secret:
                form["client_secret"] = secret
        response = await session.send_unauthenticated(
            "POST",
            self.spec.token_url,
            "refresh the access token",
            data=form,
            headers=headers,
            extra_secrets=(refresh_token, secret or ""),
        )
        call = http.Call(
            session.platform, "refresh the access token", (refresh_token, secret or "")
        )
        now = session.clock.now()
        # read inside ``parse``: a token answer without a usable access token is a malformed
        # answer (a PlatformError with its body redacted), not a bare Shape error
        return session.parse(
            response,
            lambda d: credentials_from_token_response(
                fields.mapping(d, "token answer"), now=now, previous=credentials
            ),
            call,
        )
