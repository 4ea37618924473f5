"""The users page (owners only): add a user, set a password, remove a user."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import col, select

from brandkit.db.engine import session_scope
from brandkit.db.models import Profile, User
from brandkit.errors import BrandkitError, InvalidInputError, NotFoundError
from brandkit.web import users
from brandkit.web.pages import Page, signed_in, stamp_of
from brandkit.web.policy import Action, Role, authorize

router = APIRouter()
SignedIn = Annotated[Page, Depends(signed_in)]


def _owner(page: SignedIn) -> Page:
    authorize(page.signed_in, Action.MANAGE_USERS)
    return page


Owner = Annotated[Page, Depends(_owner)]


@router.get("/users", response_class=HTMLResponse)
def users_page(page: Owner) -> HTMLResponse:
    with session_scope(page.web.engine) as db:
        rows = users.list_users(db)
        profiles = db.exec(
            select(Profile)
            .where(Profile.workspace_id == page.workspace.id)
            .order_by(col(Profile.display_name))
        ).all()
    names = {p.id: p.display_name for p in profiles}
    return page.render(
        "users.html",
        users=[(u, names.get(u.profile_id) if u.profile_id else None) for u in rows],
        profiles=profiles,
        roles=list(Role),
        timezone=page.tz,
        min_password=users.MIN_PASSWORD,
    )


def _same(password: str, confirm: str) -> None:
    if password != confirm:
        raise InvalidInputError("the two passwords differ")


def _login_of(page: Page, user_id: int) -> str:
    with session_scope(page.web.engine) as db:
        user = db.get(User, user_id)
        if user is None or user.workspace_id != page.workspace.id:
            raise NotFoundError("user", user_id)
        return user.login


@router.post("/users")
def add_user(
    page: Owner,
    login: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    profile: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    password_confirm: Annotated[str, Form()] = "",
) -> RedirectResponse:
    try:
        _same(password, password_confirm)
        with session_scope(page.web.engine) as db:
            user = users.add_user(
                db,
                page.web.passwords,
                page.workspace,
                login=login,
                role=role,
                password=password,
                profile_slug=profile or None,
            )
        page.flash(
            "success", page.t("users.added", login=user.login, role=page.t(f"role.{user.role}"))
        )
    except BrandkitError as exc:
        page.flash("error", page.t("users.failed", reason=exc.message))
    return page.redirect("/users")


@router.post("/users/{user_id}/password")
def set_password(
    page: Owner,
    user_id: int,
    password: Annotated[str, Form()] = "",
    password_confirm: Annotated[str, Form()] = "",
) -> RedirectResponse:
    try:
        _same(password, password_confirm)
        login = _login_of(page, user_id)
        with session_scope(page.web.engine) as db:
            user = users.set_password(db, page.web.passwords, login, password)
        if user.id == page.signed_in.id:  # stay signed in here; other sessions end
            page.session.sign_in(user_id, stamp_of(user), now=page.now.timestamp())
        page.flash("success", page.t("users.password_set", login=login))
    except BrandkitError as exc:
        page.flash("error", page.t("users.failed", reason=exc.message))
    return page.redirect("/users")


@router.post("/users/{user_id}/remove")
def remove_user(page: Owner, user_id: int) -> RedirectResponse:
    try:
        if user_id == page.signed_in.id:
            raise InvalidInputError("you cannot remove yourself; another owner can")
        login = _login_of(page, user_id)
        with session_scope(page.web.engine) as db:
            users.remove_user(db, login)
        page.flash("success", page.t("users.removed", login=login))
    except BrandkitError as exc:
        page.flash("error", page.t("users.failed", reason=exc.message))
    return page.redirect("/users")
