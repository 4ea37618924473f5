"""What every page shares: the app's state, the request's session, user and language, rendering.

Routes take a :class:`Page` through ``Depends(signed_in)`` (or ``Depends(get_page)`` for the
sign-in page); it loads the workspace and the user for the request, and renders templates with
the translator, the CSRF token and the flash messages in their context.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import Engine

from brandkit.clock import Clock
from brandkit.config import Settings
from brandkit.db.engine import session_scope
from brandkit.db.models import User, Workspace
from brandkit.web.i18n import Translator
from brandkit.web.policy import Action, may
from brandkit.web.ratelimit import LoginLimits
from brandkit.web.sessions import STATE_KEY, WebSession, user_stamp
from brandkit.web.users import Passwords
from brandkit.workspace import current_workspace

if TYPE_CHECKING:
    from brandkit.runtime import Runtime

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
WEEK_VALUE = re.compile(r"^\d{4}-W\d{2}$")


class LoginRequired(Exception):
    """No one is signed in: the answer is a redirect to the sign-in page."""


class CsrfFailed(Exception):
    """A state-changing request without this session's CSRF token: refused with 403."""


@dataclass
class WebState:
    """Everything the app was built with (see :func:`brandkit.web.app.create_app`)."""

    settings: Settings
    engine: Engine
    clock: Clock
    passwords: Passwords
    limits: LoginLimits
    templates: jinja2.Environment
    # part 2 (accounts page): builds the Runtime whose HTTP client calls the platforms; None is
    # the workspace's own (brandkit.workspace.build_runtime). Tests pass a fake transport.
    runtime_factory: Callable[[], Runtime] | None = None


@dataclass
class Page:
    """One request: its session, the workspace, the signed-in user (if any) and the language."""

    request: Request
    web: WebState
    session: WebSession
    workspace: Workspace
    user: User | None
    t: Translator
    now: datetime

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.workspace.timezone)

    @property
    def signed_in(self) -> User:
        if self.user is None:
            raise LoginRequired()
        return self.user

    def flash(self, kind: str, message: str) -> None:
        self.session.add_flash(kind, message)

    def render(self, name: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        return render(self.request, self.web, name, status=status, page=self, **context)

    def redirect(self, path: str) -> RedirectResponse:
        return RedirectResponse(path, status_code=303)


def stamp_of(user: User) -> str:
    return user_stamp(user.login, user.created_at, user.session_version)


def web_state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


def web_session(request: Request) -> WebSession:
    session: WebSession = request.scope["state"][STATE_KEY]
    return session


def get_page(request: Request) -> Page:
    """The request's :class:`Page`; a session whose user is gone or signed out is emptied."""
    web = web_state(request)
    session = web_session(request)
    now = web.clock.now()
    with session_scope(web.engine) as db:
        workspace = current_workspace(db)
        user = db.get(User, session.user_id) if session.user_id is not None else None
        if user is not None and (
            not session.stamp_matches(stamp_of(user)) or user.workspace_id != workspace.id
        ):
            user = None
    if session.user_id is not None and user is None:
        session.sign_out()
    request.state.locale = workspace.locale
    request.state.user = user
    return Page(request, web, session, workspace, user, Translator(workspace.locale), now)


def signed_in(page: Annotated[Page, Depends(get_page)]) -> Page:
    """A :class:`Page` with someone signed in, else a redirect to the sign-in page."""
    if page.user is None:
        raise LoginRequired()
    return page


async def csrf_guard(request: Request) -> None:
    """Every request that may change something carries this session's CSRF token.

    The token comes from the form field ``csrf_token`` (or the ``X-CSRF-Token`` header, for
    scripts) and must equal the one in the signed session cookie, compared in constant time.
    """
    if request.method in SAFE_METHODS:
        return
    token = request.headers.get(CSRF_HEADER)
    if token is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(CSRF_FIELD)
            token = value if isinstance(value, str) else None
    if not web_session(request).csrf_matches(token):
        raise CsrfFailed()


def render(
    request: Request, web: WebState, name: str, *, status: int = 200, **context: Any
) -> HTMLResponse:
    """Render ``name`` with the translator, the CSRF token and the flash messages."""
    session = web_session(request)
    page: Page | None = context.get("page")
    t = page.t if page else Translator(getattr(request.state, "locale", web.settings.locale))
    user = page.user if page else getattr(request.state, "user", None)

    def can(action: str) -> bool:
        return user is not None and may(user, Action(action))

    html = web.templates.get_template(name).render(
        t=t,
        user=user,
        can=can,
        csrf_token=session.csrf,
        csrf_field=CSRF_FIELD,
        flash=session.pop_flash(),
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status)


def back_to_week(week: str | None, anchor: str = "") -> str:
    """The queue URL to return to after an action (only a well-formed week is kept)."""
    query = f"?week={week}" if week and WEEK_VALUE.match(week) else ""
    return f"/queue{query}{anchor}"
