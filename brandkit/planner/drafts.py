"""Drafting: a template (or a text) plus variables becomes a Post with one Variant per account.

Each variant is rendered for its own platform and checked there, so the findings a reviewer
sees are the ones that matter on that platform. Planning a whole week from the calendar is
:mod:`brandkit.planner.plan`; where a slot's variables come from is :mod:`.sources`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from brandkit.content import TemplateLibrary
from brandkit.content.privacy import PrivacyAllowlist
from brandkit.db.models import Account, Post, Profile, Variant, Workspace
from brandkit.errors import InvalidInputError, NotFoundError
from brandkit.planner.variants import check_variant


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
    image_url: str | None = None,
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
        image_url=image_url,
        created_at=now,
        updated_at=now,
    )
    session.add(post)
    session.flush()
    assert post.id is not None
    allowlist = own_details(workspace, profile)
    for account, body in rendered:
        length, findings = check_variant(
            body,
            platform=account.platform,
            language=language,
            template=template,
            allow=allowlist,
            has_image=image_url is not None,
        )
        assert account.id is not None
        session.add(
            Variant(
                post_id=post.id,
                account_id=account.id,
                text=body,
                length=length,
                findings=findings,
                due_at=scheduled_at,
                updated_at=now,
            )
        )
    session.flush()
    return post
