"""The dashboard application: :func:`create_app` builds it from a workspace's settings and engine.

Tests build it with their own engine, a simulated clock and a cheap password hasher, and talk to
it through ``httpx.ASGITransport``; ``brandkit web`` serves it with uvicorn.

Layers, outside in: security headers → signed session cookie → FastAPI, whose one app-wide
dependency checks the CSRF token of every state-changing request; each route then asks the
policy (:mod:`brandkit.web.policy`). Errors become pages here, in one place: 403 says which role
is needed, 404 and 500 are one line, never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

import jinja2
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from brandkit.clock import Clock, SystemClock
from brandkit.config import Settings
from brandkit.errors import BrandkitError, NotFoundError
from brandkit.runtime import Runtime
from brandkit.web.i18n import Translator
from brandkit.web.pages import CsrfFailed, LoginRequired, WebState, csrf_guard, render, web_state
from brandkit.web.policy import Forbidden, needed
from brandkit.web.policy import Scope as PostScope
from brandkit.web.ratelimit import LoginLimits
from brandkit.web.routes import accounts as accounts_page
from brandkit.web.routes import auth, queue, users
from brandkit.web.routes import calendar as calendar_page
from brandkit.web.routes import editor as post_editor
from brandkit.web.routes import goals as goals_page
from brandkit.web.routes import reports as reports_page
from brandkit.web.routes import templates as template_editor
from brandkit.web.sessions import SessionMiddleware, session_secret
from brandkit.web.users import Passwords

log = logging.getLogger(__name__)
PACKAGE_DIR = Path(str(files("brandkit.web")))

SECURITY_HEADERS = {
    # the pages load only their own script and style sheet: no CDN, no inline code
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class SecurityHeadersMiddleware:
    """Adds :data:`SECURITY_HEADERS` to every response; pages are never cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if headers.get("content-type", "").startswith("text/html"):
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def template_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("brandkit.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["hm"] = lambda moment: moment.strftime("%H:%M") if moment else ""
    env.filters["ymdhm"] = lambda moment: moment.strftime("%Y-%m-%d %H:%M") if moment else ""
    env.filters["datetime_local"] = lambda moment: moment.strftime("%Y-%m-%dT%H:%M")
    return env


def create_app(
    settings: Settings,
    engine: Engine,
    *,
    clock: Clock | None = None,
    passwords: Passwords | None = None,
    limits: LoginLimits | None = None,
    secret: bytes | None = None,
    runtime_factory: Callable[[], Runtime] | None = None,
) -> FastAPI:
    """The dashboard for the workspace of ``settings`` on ``engine``.

    ``secret`` signs session cookies; by default it is derived from the workspace's secret key
    (:func:`~brandkit.web.sessions.session_secret`). ``clock`` decides session expiry and the
    rate-limit window; ``passwords`` holds the Argon2id hasher. ``runtime_factory`` builds the
    :class:`~brandkit.runtime.Runtime` (HTTP client, secrets) that the accounts page verifies
    accounts with: by default the workspace's own; tests pass one with a fake transport.
    """
    clock = clock or SystemClock()
    app = FastAPI(
        title="brandkit",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(csrf_guard)],
    )
    app.state.web = WebState(
        settings=settings,
        engine=engine,
        clock=clock,
        passwords=passwords or Passwords(),
        limits=limits or LoginLimits(),
        templates=template_environment(),
        runtime_factory=runtime_factory,
    )
    app.add_middleware(
        SessionMiddleware,
        secret=secret or session_secret(settings.secret_key_file),
        clock=clock,
    )
    app.add_middleware(SecurityHeadersMiddleware)
    app.mount("/static", StaticFiles(directory=PACKAGE_DIR / "static"), name="static")
    for router in (auth.router, queue.router, users.router):
        app.include_router(router)
    # part 2 pages: reports, accounts, goals, calendar
    for page_module in (reports_page, accounts_page, goals_page, calendar_page):
        app.include_router(page_module.router)
    # part 2 editors: posts and templates
    for editor_module in (post_editor, template_editor):
        app.include_router(editor_module.router)
    _error_pages(app)
    return app


def _error_page(request: Request, status: int, message: str, detail: str = "") -> HTMLResponse:
    return render(
        request,
        web_state(request),
        "error.html",
        status=status,
        status_code=status,
        message=message,
        detail=detail,
    )


def _translator(request: Request) -> Translator:
    return Translator(getattr(request.state, "locale", web_state(request).settings.locale))


def _error_pages(app: FastAPI) -> None:
    """Every error a person can meet, as a page in their language with one line on it."""

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _exc: Exception) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = "/queue"
        return RedirectResponse(f"/login?next={target}", status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Forbidden)
        t = _translator(request)
        roles = [
            t("forbidden.role", role=t(f"role.{role}"))
            if scope is PostScope.ANY
            else t("forbidden.role_scope", role=t(f"role.{role}"), scope=t(f"scope.{scope}"))
            for role, scope in needed(exc.action)
        ]
        message = t("forbidden.message", action=t(f"action.{exc.action}"))
        detail = t(
            "forbidden.needed",
            roles=t("forbidden.or").join(roles),
            role=t(f"role.{exc.role}") if f"role.{exc.role}" in t.messages else exc.role,
        )
        return _error_page(request, 403, message, detail)

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, _exc: Exception) -> Response:
        return _error_page(request, 403, _translator(request)("error.csrf"))

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, NotFoundError)
        return _error_page(request, 404, exc.message)

    @app.exception_handler(BrandkitError)
    async def brandkit_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BrandkitError)
        return _error_page(request, 400, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, _exc: Exception) -> Response:
        return _error_page(request, 400, _translator(request)("error.invalid"))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        t = _translator(request)
        key = "error.not_found" if exc.status_code == 404 else "error.http"
        return _error_page(request, exc.status_code, t(key, status=exc.status_code))

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> Response:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return _error_page(request, 500, _translator(request)("error.internal"))
