"""Signed session cookies and the CSRF token they carry.

The session is a small JSON object signed with itsdangerous (HMAC-SHA256 over a key derived
from the workspace's secret key, see :func:`session_secret`) and kept in one cookie:

- ``csrf``: a random token every form sends back (the synchronizer token: tied to this session,
  unreadable and unforgeable by another site), checked on every state-changing request;
- ``uid``, ``stamp``, ``exp``: who is signed in, a digest of their login, creation time and
  ``User.session_version`` at sign-in (a new password or signing out raises the version, and a
  removed user's id taken by a new one has another creation time: either ends the session),
  and when the session ends;
- ``flash``: one-line messages shown by the next page.

The cookie is ``HttpOnly``, ``SameSite=Lax``, ``Path=/``, and ``Secure`` when the request came
over https (uvicorn's ``--proxy-headers`` tells it so behind a proxy). Times come from the
injected clock, so tests can expire a session without waiting.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from itsdangerous import BadSignature, URLSafeSerializer
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from brandkit.clock import Clock
from brandkit.errors import SecretError
from brandkit.secrets import ENV_KEY

COOKIE_NAME = "brandkit_session"
LIFETIME = timedelta(hours=12)
MAX_FLASH = 300  # characters of one message: the cookie must stay well under 4 KB
STATE_KEY = "web_session"


def session_secret(key_file: os.PathLike[str] | str) -> bytes:
    """The signing key for session cookies, derived (HKDF-SHA256) from the workspace's key.

    The workspace's Fernet key (``BRANDKIT_SECRET_KEY`` or the key file) is never used as is:
    a separate derived key means a leaked cookie key reveals nothing about the credentials key.
    """
    env = os.environ.get(ENV_KEY)
    try:
        material = env.strip().encode() if env else Path(key_file).read_bytes().strip()
    except OSError as exc:
        raise SecretError(
            f"cannot read secret key file {key_file}: {exc.strerror}",
            hint=f"run 'brandkit init' here, or set {ENV_KEY}",
        ) from exc
    if len(material) < 32:
        raise SecretError(f"the secret key in {key_file} is too short to sign sessions")
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"brandkit web session cookie v1"
    )
    return base64.urlsafe_b64encode(hkdf.derive(material))


@dataclass
class WebSession:
    """One browser's session; ``changed`` makes the middleware send the cookie again."""

    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    user_id: int | None = None
    stamp: str = ""
    expires: float = 0.0  # POSIX seconds
    flash: list[tuple[str, str]] = field(default_factory=list)
    changed: bool = False

    def sign_in(self, user_id: int, stamp: str, *, now: float) -> None:
        """Start a signed-in session with a fresh CSRF token (no fixation of the old one)."""
        self.csrf = secrets.token_urlsafe(32)
        self.user_id, self.stamp = user_id, stamp
        self.expires = now + LIFETIME.total_seconds()
        self.changed = True

    def sign_out(self) -> None:
        self.csrf = secrets.token_urlsafe(32)
        self.user_id, self.stamp, self.expires = None, "", 0.0
        self.changed = True

    def add_flash(self, kind: str, message: str) -> None:
        """Keep a message for the next page (the last three at most: the cookie stays small)."""
        self.flash = [*self.flash[-2:], (kind, message[:MAX_FLASH])]
        self.changed = True

    def pop_flash(self) -> list[tuple[str, str]]:
        messages, self.flash = self.flash, []
        if messages:
            self.changed = True
        return messages

    def stamp_matches(self, stamp: str) -> bool:
        return bool(self.stamp) and hmac.compare_digest(self.stamp.encode(), stamp.encode())

    def csrf_matches(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf.encode(), str(token).encode())

    def to_dict(self) -> dict[str, Any]:
        return {
            "csrf": self.csrf,
            "uid": self.user_id,
            "stamp": self.stamp,
            "exp": self.expires,
            "flash": self.flash,
        }

    @classmethod
    def from_dict(cls, data: Any, *, now: float) -> WebSession | None:
        try:
            session = cls(
                csrf=str(data["csrf"]),
                user_id=int(data["uid"]) if data.get("uid") is not None else None,
                stamp=str(data.get("stamp", "")),
                expires=float(data.get("exp", 0.0)),
                flash=[(str(k), str(m)) for k, m in data.get("flash", [])],
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            return None
        if session.user_id is not None and session.expires <= now:
            session.sign_out()  # expired: keep nothing of it but the browser
        return session


def user_stamp(login: str, created_at: datetime, session_version: int) -> str:
    """What ties a session to one user's one incarnation and password (see the module doc)."""
    text = f"{login}\0{created_at.isoformat()}\0{session_version}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class SessionMiddleware:
    """Loads the session from its signed cookie into ``request.state`` and saves it if changed."""

    def __init__(self, app: ASGIApp, *, secret: bytes, clock: Clock) -> None:
        self.app = app
        self.serializer = URLSafeSerializer(secret, salt="brandkit.web.session")
        self.clock = clock

    def _load(self, scope: Scope) -> WebSession:
        cookies: SimpleCookie = SimpleCookie()
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                try:
                    cookies.load(value.decode("latin-1"))
                except Exception:  # a malformed Cookie header: start afresh
                    cookies = SimpleCookie()
        morsel = cookies.get(COOKIE_NAME)
        if morsel is not None:
            try:
                data = self.serializer.loads(morsel.value)
            except BadSignature:
                data = None
            session = WebSession.from_dict(data, now=self.clock.now().timestamp())
            if session is not None:
                return session
        return WebSession(changed=True)

    def _cookie(self, session: WebSession, *, secure: bool) -> str:
        value = self.serializer.dumps(session.to_dict())
        max_age = int(LIFETIME.total_seconds())
        flags = f"Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax"
        return f"{COOKIE_NAME}={value}; {flags}" + ("; Secure" if secure else "")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session = self._load(scope)
        scope.setdefault("state", {})[STATE_KEY] = session
        secure = scope.get("scheme") == "https"

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and session.changed:
                headers = MutableHeaders(scope=message)
                headers.append("Set-Cookie", self._cookie(session, secure=secure))
            await send(message)

        await self.app(scope, receive, send_with_cookie)
