"""Signing in and out, with the sign-in rate limit."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from brandkit.db.engine import session_scope
from brandkit.db.models import User
from brandkit.web import ratelimit
from brandkit.web.pages import Page, get_page, stamp_of
from brandkit.web.users import authenticate, normalize_login

router = APIRouter()


def safe_next(value: str | None) -> str:
    """Only a path on this site: never ``//host`` or ``https://…`` (no open redirect)."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return "/queue"


@router.get("/login", response_class=HTMLResponse)
def login_form(page: Annotated[Page, Depends(get_page)], next: str = "/queue") -> Response:
    if page.user is not None:
        return page.redirect(safe_next(next))
    return page.render("login.html", next=safe_next(next))


@router.post("/login", response_class=HTMLResponse)
def login(
    page: Annotated[Page, Depends(get_page)],
    login: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/queue",
) -> Response:
    web, t = page.web, page.t
    client = page.request.client
    address = client.host if client else "unknown"
    key = normalize_login(login)
    now = page.now
    with session_scope(web.engine) as db:
        wait = ratelimit.retry_after(db, web.limits, login=key, address=address, now=now)
        user = None
        if wait is None:
            user = authenticate(db, web.passwords, login, password, now=now)
            if user is None:
                ratelimit.record_failure(db, web.limits, login=key, address=address, now=now)
            else:
                ratelimit.forget_failures(db, login=key)
    if wait is not None:
        minutes = max(1, math.ceil(wait.total_seconds() / 60))
        message = t("login.too_many", minutes=minutes)
        response = page.render("login.html", status=429, error=message, next=safe_next(next))
        response.headers["Retry-After"] = str(math.ceil(wait.total_seconds()))
        return response
    if user is None:
        return page.render(
            "login.html", status=401, error=t("login.failed"), login=login, next=safe_next(next)
        )
    assert user.id is not None
    page.session.sign_in(user.id, stamp_of(user), now=now.timestamp())
    return page.redirect(safe_next(next))


@router.post("/logout")
def logout(page: Annotated[Page, Depends(get_page)]) -> RedirectResponse:
    """Sign out here and everywhere: the user's session version goes up."""
    if page.user is not None:
        with session_scope(page.web.engine) as db:
            user = db.get(User, page.user.id)
            if user is not None:
                user.session_version += 1
    page.session.sign_out()
    page.flash("info", page.t("login.signed_out"))
    return page.redirect("/login")
