"""Drafting: a template (or a text) plus variables becomes a Post with one Variant per account.

Each variant is rendered for its own platform and checked there, so the findings a reviewer
sees are the ones that matter on that platform.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from brandkit.content import TemplateLibrary, check
from brandkit.content.compliance import Finding
from brandkit.content.privacy import PrivacyAllowlist
from brandkit.db.models import Account, Post, Profile, Slot, Variant, Workspace
from brandkit.errors import InvalidInputError, NotFoundError
from brandkit.planner.calendar import slot_moment

ONE_POST_ONLY = {
    "ja": "1 件の投稿に収まりません。brandkit はまだスレッドを投稿できないため、短くしてください",
    "en": "does not fit one post, and brandkit does not publish threads yet: shorten it",
}


def template_context(workspace: Workspace, profile: Profile | None) -> dict[str, Any]:
    """Variables every template can use: the clinic and the doctor."""
    return {
        "clinic": workspace.name,
        "doctor": profile.display_name if profile else "",
        "specialty": profile.specialty if profile else "",
        "affiliation": profile.affiliation if profile else "",
        "locale": workspace.locale,
    }


def own_details(workspace: Workspace, profile: Profile | None) -> PrivacyAllowlist:
    """The doctor's name and the clinic's contact details: never a privacy finding."""
    return PrivacyAllowlist(
        names=tuple(n for n in (profile.display_name if profile else None, workspace.name) if n),
        phones=tuple(p for p in (workspace.phone,) if p),
        emails=tuple(e for e in (workspace.email,) if e),
        addresses=tuple(a for a in (workspace.address,) if a),
    )


def resolve_accounts(session: Session, names: Sequence[str]) -> list[Account]:
    accounts = []
    for name in names:
        account = session.exec(select(Account).where(Account.name == name)).first()
        if account is None:
            raise NotFoundError("account", name, hint="list them with 'brandkit accounts list'")
        accounts.append(account)
    if not accounts:
        raise InvalidInputError("a post needs at least one account", hint="add --account NAME")
    return accounts


def draft_post(
    session: Session,
    library: TemplateLibrary,
    *,
    workspace: Workspace,
    profile: Profile | None,
    accounts: Sequence[Account],
    scheduled_at: datetime,
    now: datetime,
    template_name: str | None = None,
    text: str | None = None,
    variables: Mapping[str, Any] | None = None,
    slot_id: int | None = None,
) -> Post:
    """Create a draft post; rendering or checking problems raise before anything is written."""
    if (template_name is None) == (text is None):
        raise InvalidInputError("give either a template or a text, not both")
    variables = dict(variables or {})
    template = library.get(template_name, workspace.locale) if template_name else None
    language = template.language if template else str(variables.get("lang", workspace.locale))
    rendered: list[tuple[Account, str]] = []
    for account in accounts:
        body = (
            text
            if text is not None
            else library.render(
                template,  # type: ignore[arg-type]
                variables,
                platform=account.platform,
                context=template_context(workspace, profile),
            )
        )
        rendered.append((account, body))
    assert workspace.id is not None
    post = Post(
        workspace_id=workspace.id,
        profile_id=profile.id if profile else None,
        slot_id=slot_id,
        template_name=template.name if template else None,
        template_hash=template.content_hash if template else None,
        variables=variables,
        language=language,
        scheduled_at=scheduled_at,
        created_at=now,
        updated_at=now,
    )
    session.add(post)
    session.flush()
    assert post.id is not None
    allowlist = own_details(workspace, profile)
    for account, body in rendered:
        result = check(
            body,
            platform=account.platform,
            lang=language,
            readability_target=template.readability_target if template else None,
            allow=allowlist,
        )
        findings = [f.as_dict() for f in result.findings]
        if result.thread:
            # check() shows the thread it would make; publishing one post per variant is what
            # the publisher does today, so a variant that needs a thread must be shortened
            findings.append(
                Finding(
                    "needs_thread", "length", "error", 0, len(body), ONE_POST_ONLY[language]
                ).as_dict()
            )
        assert account.id is not None
        session.add(
            Variant(
                post_id=post.id,
                account_id=account.id,
                text=body,
                length=result.length,
                findings=findings,
                due_at=scheduled_at,
                updated_at=now,
            )
        )
    session.flush()
    return post


class TopicSource(Protocol):
    """Where a slot's template variables come from (the topic backlog, or the demo's list)."""

    def variables_for(self, template_name: str, slot: Slot) -> Mapping[str, Any]: ...


class SlotVariables:
    """The simplest topic source: the slot's own variables, else the template's examples."""

    def __init__(self, library: TemplateLibrary, language: str) -> None:
        self.library = library
        self.language = language

    def variables_for(self, template_name: str, slot: Slot) -> Mapping[str, Any]:
        if slot.variables:
            return slot.variables
        return self.library.get(template_name, self.language).example_variables()


def plan_week(
    session: Session,
    library: TemplateLibrary,
    *,
    workspace: Workspace,
    profile: Profile | None,
    monday: date,
    now: datetime,
    topics: TopicSource | None = None,
) -> list[Post]:
    """One draft post per active slot in the week of ``monday``; existing ones are kept.

    Running it twice creates nothing new: a (slot, time) pair that already has a post is
    skipped, and the database's unique constraint backs that up against a concurrent run.
    """
    tz = ZoneInfo(workspace.timezone)
    topics = topics or SlotVariables(library, workspace.locale)
    slots = session.exec(
        select(Slot)
        .where(Slot.workspace_id == workspace.id, Slot.active == True)  # noqa: E712
        .order_by(Slot.weekday, Slot.local_time)  # type: ignore[arg-type]
    ).all()
    created = []
    for slot in slots:
        if not slot.template:
            continue  # category slots are filled by the topic backlog (planner issue)
        moment = slot_moment(monday, slot.weekday, slot.local_time, tz)
        exists = session.exec(
            select(Post.id).where(Post.slot_id == slot.id, Post.scheduled_at == moment)
        ).first()
        if exists is not None:
            continue
        created.append(
            draft_post(
                session,
                library,
                workspace=workspace,
                profile=profile,
                accounts=resolve_accounts(session, slot.accounts),
                scheduled_at=moment,
                now=now,
                template_name=slot.template,
                variables=topics.variables_for(slot.template, slot),
                slot_id=slot.id,
            )
        )
    return created
