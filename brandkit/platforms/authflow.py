"""The OAuth 2.0 authorization-code flow behind ``brandkit auth``: PKCE and a loopback redirect.

The steps (RFC 6749 §4.1, with RFC 7636 PKCE and RFC 8252 for native apps):

1. A one-time ``code_verifier`` (32 random bytes, base64url: 43 characters) and its S256
   ``code_challenge``, and a random ``state``.
2. A tiny HTTP server on ``127.0.0.1`` (an ephemeral port unless ``--port`` fixes one, for
   platforms that want the exact redirect URI registered) waits for
   ``GET /callback?code=…&state=…``. Nothing else is served, and it never listens beyond
   loopback.
3. The person opens the platform's authorize URL (the CLI opens a browser), approves, and the
   platform redirects the browser to the callback. A wrong ``state`` (a request brandkit did not
   start), ``error=access_denied`` and a timeout each end the flow with a clear message; the
   browser page says "you can close this window" in the workspace's language.
4. The code is exchanged at the token endpoint with the verifier, the client authenticating as
   :attr:`OAuthSpec.client_auth` says (HTTP Basic or form fields). The answer becomes
   :class:`Credentials` via :func:`credentials_from_token_response`, with ``client_id`` (and
   ``client_secret`` for a confidential client) kept in ``extra`` for later refreshes.

A connector class may refine the flow with two optional class attributes:
``authorize_params`` (extra query parameters, e.g. Google's ``access_type=offline``) and an async
classmethod ``finish_authorization(*, client, base_url, credentials, token_response)`` returning
the credentials to store (e.g. Threads and Instagram swap the short-lived token for a 60-day one).

Neither the code, the verifier, the client secret nor any token appears in a message.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Protocol
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from brandkit.errors import PlatformError
from brandkit.platforms import http
from brandkit.platforms.base import Credentials
from brandkit.platforms.oauth import OAuthSpec, basic_auth, credentials_from_token_response

logger = logging.getLogger(__name__)

CALLBACK_PATH: Final = "/callback"
DEFAULT_TIMEOUT: Final = 300.0
_MAX_REQUEST: Final = 16 * 1024
_READ_TIMEOUT: Final = 10.0

_PAGES: Final = {
    "ja": {
        "ok": "brandkit が認可を受け取りました。"
        "このウィンドウを閉じて、ターミナルに戻ってください。",
        "denied": "認可が拒否されました。このウィンドウを閉じてかまいません。",
        "error": "認可は完了しませんでした。"
        "このウィンドウを閉じて、ターミナルの案内をご覧ください。",
        "state": "この応答は brandkit が開始した認可のものではありません（state が一致しません）。"
        "このウィンドウを閉じて、brandkit auth をもう一度実行してください。",
        "done": "認可はすでに処理されました。このウィンドウを閉じてかまいません。",
    },
    "en": {
        "ok": "brandkit received the authorisation. You can close this window and return to "
        "the terminal.",
        "denied": "The authorisation was refused. You can close this window.",
        "error": "The authorisation did not complete. You can close this window; the terminal "
        "says what to do next.",
        "state": "This answer does not belong to the authorisation brandkit started (the state "
        "does not match). Close this window and run brandkit auth again.",
        "done": "The authorisation was already handled. You can close this window.",
    },
}


# --- PKCE and state (RFC 7636) -------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def code_verifier(nbytes: int = 32) -> str:
    """A high-entropy ``code_verifier`` (RFC 7636 §4.1): 32 bytes give 43 characters."""
    return _b64url(secrets.token_bytes(nbytes))


def code_challenge(verifier: str) -> str:
    """``BASE64URL(SHA256(ASCII(code_verifier)))``, the S256 method of RFC 7636 §4.2."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def new_state() -> str:
    """An unguessable ``state`` tying the callback to this run."""
    return secrets.token_urlsafe(24)


# --- the flow's inputs ---------------------------------------------------------------------


class FinishAuthorization(Protocol):
    """The optional ``finish_authorization`` classmethod of a connector."""

    def __call__(
        self,
        *,
        client: httpx.AsyncClient,
        base_url: str,
        credentials: Credentials,
        token_response: Mapping[str, object],
    ) -> Awaitable[Credentials]: ...


@dataclass(frozen=True)
class AuthRequest:
    """Everything one run of the flow needs; ``client_secret`` only for confidential clients."""

    platform: str
    spec: OAuthSpec
    base_url: str
    client_id: str
    client_secret: str | None = None
    port: int = 0
    timeout: float = DEFAULT_TIMEOUT
    locale: str = "ja"
    authorize_params: Mapping[str, str] = field(default_factory=dict)
    finish: FinishAuthorization | None = None

    def __repr__(self) -> str:
        return f"AuthRequest({self.platform!r}, client_id={self.client_id!r})"

    def absolute(self, url: str) -> str:
        """``url`` joined to the account's base URL when it is relative (``/oauth/token``)."""
        if url.startswith(("http://", "https://")):
            return url
        return self.base_url.rstrip("/") + "/" + url.lstrip("/")


def authorize_url(
    request: AuthRequest, *, redirect_uri: str, state: str, challenge: str | None
) -> str:
    """The platform's authorize URL with the RFC 6749 §4.1.1 (and RFC 7636 §4.3) parameters."""
    spec = request.spec
    params = {
        "response_type": "code",
        "client_id": request.client_id,
        "redirect_uri": redirect_uri,
        "scope": spec.scope_separator.join(spec.scopes),
        "state": state,
    }
    if challenge is not None:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    params |= dict(request.authorize_params)
    base = request.absolute(spec.authorize_url)
    return f"{base}{'&' if '?' in base else '?'}{urlencode(params)}"


# --- the loopback callback (RFC 8252 §7.3) --------------------------------------------------


@dataclass(frozen=True)
class Callback:
    """What the browser brought back: the code (never in the ``repr``), or the platform's error."""

    code: str | None = field(repr=False)
    error: str | None
    error_description: str | None


class LoopbackServer:
    """Listens on 127.0.0.1 for the one redirect the flow waits for.

    Use as ``async with LoopbackServer(state=…, locale=…) as server:``, then
    ``await server.wait(timeout)``. The first request to :data:`CALLBACK_PATH` carrying the
    expected ``state`` (or an ``error``) settles the flow; one with another state is answered
    with an explanation and settles it as a mismatch. Other paths get 404.
    """

    def __init__(self, *, state: str, locale: str = "ja", port: int = 0, platform: str) -> None:
        self._state = state
        self._texts = _PAGES.get(locale, _PAGES["en"])
        self._port = port
        self._platform = platform
        self._server: asyncio.Server | None = None
        self._result: asyncio.Future[Callback] | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "the server is not started"
        sockname = self._server.sockets[0].getsockname()
        return int(sockname[1])

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}{CALLBACK_PATH}"

    async def __aenter__(self) -> LoopbackServer:
        self._result = asyncio.get_running_loop().create_future()
        try:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", self._port)
        except OSError as exc:
            raise PlatformError(
                f"cannot listen on 127.0.0.1:{self._port} for the authorisation callback "
                f"({exc.strerror or exc})",
                platform=self._platform,
                hint="choose another --port (0 picks a free one)",
            ) from exc
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def wait(self, timeout: float) -> Callback:
        """The callback, or :class:`PlatformError` on a state mismatch or after ``timeout``."""
        assert self._result is not None
        try:
            return await asyncio.wait_for(asyncio.shield(self._result), timeout)
        except TimeoutError:
            minutes = f"{timeout / 60:g} minute(s)" if timeout >= 60 else f"{timeout:g} s"
            raise PlatformError(
                f"no answer came back from the browser within {minutes}",
                platform=self._platform,
                hint=f"run brandkit auth {self._platform} again and approve in the browser; "
                "with --no-browser, open the printed address yourself",
            ) from None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ_TIMEOUT)
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            writer.close()
            return
        status, page = self._answer(head[:_MAX_REQUEST])
        body = _page(page).encode("utf-8")
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\n"
            "Connection: close\r\n\r\n".encode("ascii")
            + body
        )
        try:
            await writer.drain()
        finally:
            writer.close()

    def _answer(self, head: bytes) -> tuple[str, str]:
        """The status line and page for one request, settling the flow when it is the callback."""
        assert self._result is not None
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        method, _, rest = line.partition(" ")
        target = rest.rpartition(" ")[0] or rest
        parts = urlsplit(target)
        if method != "GET" or parts.path != CALLBACK_PATH:
            return "404 Not Found", "Not found"
        if self._result.done():
            return "200 OK", self._texts["done"]
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if not secrets.compare_digest(query.get("state", ""), self._state):
            self._result.set_exception(
                PlatformError(
                    "the authorisation answer carried a state brandkit did not send "
                    "(another tab or an old link?)",
                    platform=self._platform,
                    hint=f"run brandkit auth {self._platform} again and use the new address",
                )
            )
            return "400 Bad Request", self._texts["state"]
        error = query.get("error")
        if error:
            self._result.set_result(Callback(None, error, query.get("error_description")))
            return "200 OK", self._texts["denied" if error == "access_denied" else "error"]
        code = query.get("code")
        if not code:
            self._result.set_result(Callback(None, "invalid_request", "no code in the answer"))
            return "400 Bad Request", self._texts["error"]
        self._result.set_result(Callback(code, None, None))
        return "200 OK", self._texts["ok"]


def _page(text: str) -> str:
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>brandkit</title></head>'
        f'<body style="font-family:sans-serif;margin:3em"><p>{html.escape(text)}</p></body></html>'
    )


# --- the whole flow -------------------------------------------------------------------------


async def authorize(
    request: AuthRequest,
    *,
    client: httpx.AsyncClient,
    show_url: Callable[[str], object],
    now: Callable[[], datetime],
) -> Credentials:
    """Run the flow and return the credentials to store (not yet stored, never printed).

    ``show_url`` is called with the authorize URL once the callback server listens (the CLI
    prints it and opens a browser); ``client`` is used for the token exchange only.
    """
    verifier = code_verifier() if request.spec.pkce else None
    state = new_state()
    async with LoopbackServer(
        state=state, locale=request.locale, port=request.port, platform=request.platform
    ) as server:
        redirect_uri = server.redirect_uri
        show_url(
            authorize_url(
                request,
                redirect_uri=redirect_uri,
                state=state,
                challenge=code_challenge(verifier) if verifier else None,
            )
        )
        callback = await server.wait(request.timeout)
    if callback.code is None:
        raise _refused(request.platform, callback)
    payload = await exchange_code(
        request, client=client, code=callback.code, redirect_uri=redirect_uri, verifier=verifier
    )
    credentials = credentials_from_token_response(payload, now=now())
    credentials = credentials.with_updates(
        client_id=request.client_id, client_secret=request.client_secret
    )
    if request.finish is not None:
        credentials = await request.finish(
            client=client,
            base_url=request.base_url,
            credentials=credentials,
            token_response=payload,
        )
    return credentials


def _refused(platform: str, callback: Callback) -> PlatformError:
    said = ": ".join(p for p in (callback.error, callback.error_description) if p)
    if callback.error == "access_denied":
        return PlatformError(
            f"the authorisation was refused in the browser ({said})",
            platform=platform,
            hint=f"run brandkit auth {platform} again and choose to allow access",
        )
    return PlatformError(
        f"the platform did not authorise brandkit ({said})",
        platform=platform,
        hint="check the client id, the redirect URI registered for the app "
        "(http://127.0.0.1:PORT/callback) and the scopes; see docs/platforms/README.md",
    )


async def exchange_code(
    request: AuthRequest,
    *,
    client: httpx.AsyncClient,
    code: str,
    redirect_uri: str,
    verifier: str | None,
) -> Mapping[str, object]:
    """POST the code to the token endpoint (RFC 6749 §4.1.3) and return the JSON answer."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier is not None:
        form["code_verifier"] = verifier
    headers = {"Accept": "application/json"}
    secret = request.client_secret
    if request.spec.client_auth == "basic" and secret:
        headers["Authorization"] = basic_auth(request.client_id, secret)
    else:
        form["client_id"] = request.client_id
        if secret:
            form["client_secret"] = secret
    hidden = tuple(s for s in (code, verifier, secret) if s)
    call = http.Call(request.platform, "exchange the authorisation code", hidden)
    outgoing = client.build_request(
        "POST", request.absolute(request.spec.token_url), data=form, headers=headers
    )
    response = await http.send(client, outgoing, call)
    if not 200 <= response.status_code < 300:
        said = http.error_message(response, hidden) or response.reason_phrase or "no reason given"
        raise PlatformError(
            f"the token endpoint refused the code (HTTP {response.status_code}): {said}",
            platform=request.platform,
            status=response.status_code,
            body=http.error_body(response, hidden),
            hint="check the client id and secret and the redirect URI registered for the app, "
            f"then run brandkit auth {request.platform} again (a code works only once)",
        )
    data = http.json_body(response, call)
    if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
        raise http.malformed(response, "the token answer has no access_token", call)
    return data
