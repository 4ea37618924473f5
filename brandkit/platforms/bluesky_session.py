"""The Bluesky app-password session: signing in, renewing, and what is stored between runs.

Split out of :mod:`brandkit.platforms.bluesky` because keeping a session alive is its own
concern, apart from posting and reading: ``createSession`` turns an ``identifier`` and app
``password`` into ``accessJwt``/``refreshJwt``, ``refreshSession`` rotates that pair, and the
JWTs' ``exp`` claims say when to renew before the server refuses a request.
:class:`AppPasswordAuth` is the :class:`~brandkit.platforms.api.Authenticator` that does this
inside the shared :class:`~brandkit.platforms.api.ApiSession`; :func:`credentials_from_secret`
is what ``brandkit accounts add bluesky`` stores.

``Credentials.token`` is the current ``accessJwt``; ``extra`` holds ``identifier``,
``app_password``, ``refresh_jwt``, ``did``, ``handle``, ``expires_at`` and
``refresh_expires_at``. Before the first sign-in the token may be the app password itself.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final

from brandkit.errors import AuthExpiredError
from brandkit.platforms import fields, http
from brandkit.platforms.api import ApiSession
from brandkit.platforms.base import Credentials

logger = logging.getLogger(__name__)

_LONG_AGO: Final = datetime(1970, 1, 1, tzinfo=UTC)
REAUTH: Final = (
    "create a new app password on Bluesky (Settings → Privacy and security → App passwords) "
    "and store it again: brandkit accounts reauth <account>"
)


def jwt_expiry(token: str | None) -> datetime | None:
    """The ``exp`` claim of a JWT, read without verifying its signature; ``None`` if unreadable.

    Only used to renew a session before the server refuses it: a wrong value costs one
    refused request (which renews the session anyway), never a security decision.
    """
    parts = (token or "").split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    return fields.epoch(claims.get("exp")) if isinstance(claims, dict) else None


def looks_like_jwt(token: str) -> bool:
    return token.startswith("eyJ") and token.count(".") == 2


def has_session(credentials: Credentials) -> bool:
    """Whether the token is a session's access token (not the app password before sign-in)."""
    token = credentials.token
    if not token or token == credentials.get("app_password"):
        return False
    return bool(credentials.get("refresh_jwt")) or looks_like_jwt(token)


def _app_password(credentials: Credentials) -> str | None:
    """The app password: stored as ``app_password``, or as the token before the first sign-in."""
    if stored := credentials.get("app_password"):
        return stored
    return None if has_session(credentials) or not credentials.token else credentials.token


def _identifier(credentials: Credentials) -> str | None:
    return credentials.get("identifier") or credentials.get("handle")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def session_credentials(
    payload: Mapping[str, object], previous: Credentials, *, app_password: str | None
) -> Credentials:
    """Credentials from a ``createSession``/``refreshSession`` answer, keeping what still holds."""
    access = fields.string(payload, "accessJwt")
    refresh = fields.string(payload, "refreshJwt")
    return previous.with_updates(
        token=access,
        refresh_jwt=refresh,
        did=fields.string(payload, "did"),
        handle=fields.opt_string(payload, "handle") or previous.get("handle"),
        app_password=app_password,
        expires_at=_iso(jwt_expiry(access)),
        refresh_expires_at=_iso(jwt_expiry(refresh)),
    )


def credentials_from_secret(secret: str, extra: Mapping[str, str]) -> Credentials:
    """What ``brandkit accounts add bluesky`` (and ``reauth``) store: the app password,
    given as the secret, and ``identifier`` (the handle, from ``--set identifier=…``).

    No session yet: the first request signs in and saves one. A session left over from an
    older app password is dropped; ``did`` and ``handle`` are kept.
    """
    identifier = extra.get("identifier") or extra.get("handle")
    if not identifier:
        raise ValueError(
            "Bluesky signs in with the account's handle: add --set identifier=<handle>, "
            "e.g. --set identifier=dr-sato.bsky.social"
        )
    if looks_like_jwt(secret):
        raise ValueError(
            "this looks like a session token; give an app password (xxxx-xxxx-xxxx-xxxx) "
            "from Settings → Privacy and security → App passwords"
        )
    kept = {key: extra[key] for key in ("did", "handle") if extra.get(key)}
    return Credentials(
        token=secret, extra={**kept, "identifier": identifier, "app_password": secret}
    )


class AppPasswordAuth:
    """The :class:`~brandkit.platforms.api.Authenticator` of a Bluesky app-password session.

    Before the first sign-in (no ``refresh_jwt`` yet) nothing is put on requests and the session
    counts as expired, so :class:`ApiSession` signs in before sending. :meth:`reject` marks an
    access token the server refused with HTTP 400 ``ExpiredToken``; it then counts as expired,
    and the next request renews the session first.
    """

    def __init__(self) -> None:
        self._rejected: set[str] = set()

    def headers(self, credentials: Credentials) -> Mapping[str, str]:
        if not has_session(credentials):
            return {}  # never the app password as a bearer token
        return {"Authorization": f"Bearer {credentials.token}"}

    def expires_at(self, credentials: Credentials) -> datetime | None:
        if not has_session(credentials) or credentials.token in self._rejected:
            return _LONG_AGO
        stored = http.parse_iso8601(credentials.get("expires_at"))
        return stored or jwt_expiry(credentials.token)

    def can_refresh(self, credentials: Credentials) -> bool:
        can_sign_in = bool(_identifier(credentials) and _app_password(credentials))
        return bool(credentials.get("refresh_jwt")) or can_sign_in

    def reject(self, token: str) -> None:
        """Treat ``token`` as expired from now on."""
        self._rejected.add(token)

    async def refresh(self, session: ApiSession, credentials: Credentials) -> Credentials:
        """``refreshSession``; when the refresh token is refused too, ``createSession``.

        A refresh that fails for another reason (a 5xx, a 429) is raised as it is: signing in
        again would spend the much scarcer ``createSession`` allowance on an outage.
        """
        refresh_jwt = credentials.get("refresh_jwt")
        refresh_expires = http.parse_iso8601(credentials.get("refresh_expires_at"))
        if refresh_jwt and (refresh_expires is None or refresh_expires > session.clock.now()):
            try:
                return await self._refresh_session(session, credentials, refresh_jwt)
            except AuthExpiredError:
                if not (_identifier(credentials) and _app_password(credentials)):
                    raise
                logger.info("bluesky: the refresh token was refused; signing in again")
        return await self._create_session(session, credentials)

    async def _refresh_session(
        self, session: ApiSession, credentials: Credentials, refresh_jwt: str
    ) -> Credentials:
        action = "renew the Bluesky session"
        response = await session.send_unauthenticated(
            "POST",
            "/xrpc/com.atproto.server.refreshSession",
            action,
            headers={"Authorization": f"Bearer {refresh_jwt}"},
            extra_secrets=(refresh_jwt,),
        )
        call = http.Call(session.platform, action, (refresh_jwt,))
        payload = session.parse(response, lambda d: fields.mapping(d, "session"), call)
        return session_credentials(payload, credentials, app_password=_app_password(credentials))

    async def _create_session(self, session: ApiSession, credentials: Credentials) -> Credentials:
        action = "sign in to Bluesky with the app password"
        identifier, password = _identifier(credentials), _app_password(credentials)
        if not identifier or not password:
            raise AuthExpiredError(
                "the Bluesky session expired and no identifier and app password are stored "
                "to start a new one",
                platform=session.platform,
                hint=REAUTH,
            )
        try:
            response = await session.send_unauthenticated(
                "POST",
                "/xrpc/com.atproto.server.createSession",
                action,
                json={"identifier": identifier, "password": password},
                extra_secrets=(password,),
            )
        except AuthExpiredError as exc:
            raise AuthExpiredError(
                exc.reason, platform=exc.platform, status=exc.status, body=exc.body, hint=REAUTH
            ) from exc
        call = http.Call(session.platform, action, (password,))
        payload = session.parse(response, lambda d: fields.mapping(d, "session"), call)
        return session_credentials(payload, credentials, app_password=password)
