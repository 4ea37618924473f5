"""Dashboard users: adding, removing, passwords (Argon2id) and signing in.

``brandkit users`` and the dashboard's users page both call these functions. Passwords are
hashed with argon2-cffi's :class:`~argon2.PasswordHasher` — Argon2id with the RFC 9106
low-memory profile (3 passes over 64 MiB, 4 lanes) unless a stronger hasher is given — and a
stored hash made with other parameters is re-hashed at the next successful sign-in.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func
from sqlmodel import Session, col, select

from brandkit.db.models import Profile, User, Workspace
from brandkit.errors import InvalidInputError, NotFoundError, StateError
from brandkit.web.policy import Role

LOGIN_PATTERN = re.compile(r"^[\w.@+-]{1,64}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # Argon2 takes any length; this bounds the work one request can ask for


@dataclass
class Passwords:
    """Hashing and checking passwords with one Argon2id hasher."""

    hasher: PasswordHasher = field(default_factory=PasswordHasher)
    _dummy: str | None = field(default=None, repr=False)

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """Whether ``password`` matches ``stored``; with no stored hash, the same work is done.

        Checking a made-up hash for an unknown login keeps its answer as slow as a wrong
        password's, so timing does not tell which logins exist.
        """
        if stored is None:
            if self._dummy is None:
                self._dummy = self.hasher.hash("brandkit: no such user")
            self._check(self._dummy, password)
            return False
        return self._check(stored, password)

    def _check(self, stored: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True


def normalize_login(raw: str) -> str:
    """The form a login is stored and compared in: NFKC, trimmed, case-folded."""
    return unicodedata.normalize("NFKC", raw).strip().casefold()


def valid_login(raw: str) -> str:
    login = normalize_login(raw)
    if not LOGIN_PATTERN.match(login):
        raise InvalidInputError(
            f"login {raw!r} is not allowed",
            hint="use 1–64 letters, digits and . _ @ + - (no spaces)",
        )
    return login


def check_password(password: str, login: str) -> None:
    """Refuse passwords that are too short, too long, or the login itself."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInputError(
            f"the password is too short ({len(password)} characters)",
            hint=f"use at least {MIN_PASSWORD} characters; a few words are easy to remember",
        )
    if len(password) > MAX_PASSWORD:
        raise InvalidInputError(f"the password is longer than {MAX_PASSWORD} characters")
    if normalize_login(password) == login:
        raise InvalidInputError("the password must not be the login")


def valid_role(raw: str) -> Role:
    try:
        return Role(raw)
    except ValueError as exc:
        raise InvalidInputError(
            f"role {raw!r} is not a role", hint="use owner, doctor or marketing"
        ) from exc


def find_user(session: Session, login: str) -> User:
    user = session.exec(select(User).where(User.login == normalize_login(login))).first()
    if user is None:
        raise NotFoundError("user", login, hint="list users with 'brandkit users list'")
    return user


def doctor_profile(session: Session, workspace: Workspace, slug: str | None) -> Profile | None:
    """The profile a doctor user is linked to: ``slug``, or the workspace's only profile.

    A workspace without profiles gives ``None``: that doctor can sign in but approves nothing
    (posts without a profile are the owners' to approve).
    """
    profiles = session.exec(
        select(Profile).where(Profile.workspace_id == workspace.id).order_by(col(Profile.id))
    ).all()
    if slug is not None:
        for profile in profiles:
            if profile.slug == slug:
                return profile
        raise NotFoundError(
            "doctor profile",
            slug,
            hint="known profiles: " + (", ".join(p.slug for p in profiles) or "none yet"),
        )
    if len(profiles) <= 1:
        return profiles[0] if profiles else None
    raise InvalidInputError(
        "a doctor user must be linked to their doctor profile",
        hint="give --profile with one of: " + ", ".join(p.slug for p in profiles),
    )


def add_user(
    session: Session,
    passwords: Passwords,
    workspace: Workspace,
    *,
    login: str,
    role: str,
    password: str,
    profile_slug: str | None = None,
) -> User:
    """Store a new user; a doctor is linked to a profile (see :func:`doctor_profile`)."""
    normal = valid_login(login)
    chosen = valid_role(role)
    check_password(password, normal)
    if session.exec(select(User).where(User.login == normal)).first() is not None:
        raise InvalidInputError(
            f"a user {normal!r} already exists", hint="choose another login or remove the old one"
        )
    if chosen is not Role.DOCTOR and profile_slug:
        raise InvalidInputError("only a doctor user is linked to a doctor profile")
    profile = doctor_profile(session, workspace, profile_slug) if chosen is Role.DOCTOR else None
    assert workspace.id is not None
    user = User(
        workspace_id=workspace.id,
        login=normal,
        role=chosen.value,
        password_hash=passwords.hash(password),
        profile_id=profile.id if profile else None,
    )
    session.add(user)
    session.flush()
    return user


def _owners(session: Session, workspace_id: int) -> int:
    return session.exec(
        select(func.count())
        .select_from(User)
        .where(User.workspace_id == workspace_id, User.role == Role.OWNER.value)
    ).one()


def remove_user(session: Session, login: str) -> User:
    """Delete a user; the workspace's last owner stays, or nobody could manage users."""
    user = find_user(session, login)
    if user.role == Role.OWNER.value and _owners(session, user.workspace_id) <= 1:
        raise StateError(
            f"{user.login!r} is the last owner and cannot be removed",
            current=user.role,
            hint="add another owner first",
        )
    session.delete(user)
    session.flush()
    return user


def set_password(session: Session, passwords: Passwords, login: str, password: str) -> User:
    """Give a user a new password; every session they have open ends."""
    user = find_user(session, login)
    check_password(password, user.login)
    user.password_hash = passwords.hash(password)
    user.session_version += 1
    return user


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.login))).all())


def authenticate(
    session: Session, passwords: Passwords, login: str, password: str, *, now: datetime
) -> User | None:
    """The user if the login and password match, else ``None`` (whichever of the two was wrong).

    A hash made with weaker parameters than the hasher's is replaced on success.
    """
    if len(password) > MAX_PASSWORD:
        return None
    user = session.exec(select(User).where(User.login == normalize_login(login))).first()
    if not passwords.verify(user.password_hash if user else None, password):
        return None
    assert user is not None and user.password_hash is not None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash(password)
    user.last_login_at = now
    return user
