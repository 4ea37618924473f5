"""Who may do what: the one permission table of the dashboard.

Every route asks :func:`authorize` (or :func:`may`, to decide which buttons to show) before it
acts; nothing else in ``brandkit.web`` knows about roles. A role's entry for an action is the
*scope* of posts it may do it to:

==================  =========  ===========  ============
action              owner      doctor       marketing
==================  =========  ===========  ============
view_queue          any        any          any
approve             any        own posts    —
approve_override    any        —            —
reject              any        own posts    —
reschedule          any        —            drafts
cancel              any        —            drafts
manage_users        any        —            —
edit_drafts         any        own posts    any          (part 2: the post editor)
edit_templates      any        —            any          (part 2: the template editor)
read_reports        any        any          any          (part 2: reports)
manage_accounts     any        —            —            (part 2: accounts)
manage_calendar     any        —            —            (part 2: calendar and goals)
==================  =========  ===========  ============

"Own posts" are the posts of the doctor profile a doctor user is linked to
(``brandkit users add LOGIN --role doctor --profile SLUG``).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Protocol


class Role(StrEnum):
    OWNER = "owner"
    DOCTOR = "doctor"
    MARKETING = "marketing"


class Scope(StrEnum):
    ANY = "any"  # every post of the workspace
    OWN = "own"  # the posts of the doctor profile the user is linked to
    DRAFT = "draft"  # posts that are still drafts


class Action(StrEnum):
    VIEW_QUEUE = "view_queue"
    APPROVE = "approve"
    APPROVE_OVERRIDE = "approve_override"  # approve despite error findings, with a reason
    REJECT = "reject"
    RESCHEDULE = "reschedule"
    CANCEL = "cancel"
    MANAGE_USERS = "manage_users"
    EDIT_DRAFTS = "edit_drafts"
    EDIT_TEMPLATES = "edit_templates"
    READ_REPORTS = "read_reports"
    MANAGE_ACCOUNTS = "manage_accounts"
    MANAGE_CALENDAR = "manage_calendar"


OWNER, DOCTOR, MARKETING = Role.OWNER, Role.DOCTOR, Role.MARKETING
ANY, OWN, DRAFT = Scope.ANY, Scope.OWN, Scope.DRAFT

POLICY: Mapping[Action, Mapping[Role, Scope]] = {
    Action.VIEW_QUEUE: {OWNER: ANY, DOCTOR: ANY, MARKETING: ANY},
    Action.APPROVE: {OWNER: ANY, DOCTOR: OWN},
    Action.APPROVE_OVERRIDE: {OWNER: ANY},
    Action.REJECT: {OWNER: ANY, DOCTOR: OWN},
    Action.RESCHEDULE: {OWNER: ANY, MARKETING: DRAFT},
    Action.CANCEL: {OWNER: ANY, MARKETING: DRAFT},
    Action.MANAGE_USERS: {OWNER: ANY},
    Action.EDIT_DRAFTS: {OWNER: ANY, DOCTOR: OWN, MARKETING: ANY},
    Action.EDIT_TEMPLATES: {OWNER: ANY, MARKETING: ANY},
    Action.READ_REPORTS: {OWNER: ANY, DOCTOR: ANY, MARKETING: ANY},
    Action.MANAGE_ACCOUNTS: {OWNER: ANY},
    Action.MANAGE_CALENDAR: {OWNER: ANY},
}


class Actor(Protocol):
    """What the policy needs to know about a user (a :class:`~brandkit.db.models.User`)."""

    @property
    def role(self) -> str: ...

    @property
    def profile_id(self) -> int | None: ...


class Target(Protocol):
    """What the policy needs to know about a post (a :class:`~brandkit.db.models.Post`)."""

    @property
    def profile_id(self) -> int | None: ...

    @property
    def state(self) -> str: ...


class Forbidden(Exception):
    """The user's role does not allow ``action`` (on this post); rendered as a 403 page."""

    def __init__(self, action: Action, role: str) -> None:
        super().__init__(f"{action} is not allowed for the role {role!r}")
        self.action = action
        self.role = role


def _role(actor: Actor) -> Role | None:
    try:
        return Role(actor.role)
    except ValueError:
        return None  # an unknown role in the database may do nothing


def may(actor: Actor, action: Action, post: Target | None = None) -> bool:
    """Whether ``actor`` may do ``action`` — to ``post``, or to some post when it is ``None``."""
    role = _role(actor)
    scope = POLICY[action].get(role) if role is not None else None
    if scope is None:
        return False
    if post is None or scope is Scope.ANY:
        return True
    if scope is Scope.OWN:
        return actor.profile_id is not None and post.profile_id == actor.profile_id
    return post.state == "draft"


def authorize(actor: Actor, action: Action, post: Target | None = None) -> None:
    """Raise :class:`Forbidden` unless :func:`may` says yes."""
    if not may(actor, action, post):
        raise Forbidden(action, actor.role)


def needed(action: Action) -> list[tuple[Role, Scope]]:
    """The roles that may do ``action`` and on which posts, owner first (for 403 pages)."""
    return [(role, scope) for role, scope in POLICY[action].items()]
