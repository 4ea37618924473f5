"""Editing a post: new text or new variables, re-checked, and back to draft for approval.

An approved post that is edited must be approved again — what was approved is not what would be
published — so its scheduled variants return to ``draft`` and lose their jobs, including those of
accounts whose text did not change (approval is of the whole post). Variants that are published,
publishing or unconfirmed are never touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from brandkit.content import TemplateLibrary
from brandkit.db.models import Account, Post, Profile, Variant, Workspace
from brandkit.errors import InvalidInputError, NotFoundError, StateError
from brandkit.planner.drafts import own_details, template_context
from brandkit.planner.variants import check_variant
from brandkit.publishing.states import VariantState as S
from brandkit.publishing.states import transition

EDITABLE = (S.DRAFT, S.APPROVED, S.SCHEDULED, S.FAILED, S.MISSED)


def edit_post(
    session: Session,
    library: TemplateLibrary,
    post_id: int,
    *,
    now: datetime,
    text: str | None = None,
    variables: Mapping[str, Any] | None = None,
    account: str | None = None,
) -> list[int]:
    """Apply the edit; returns ids of variants that went back to draft (their jobs must go).

    ``text`` replaces the text (of one account's variant with ``account``); ``variables`` are
    merged into the post's and every variant is rendered again from its template.
    """
    if (text is None) == (not variables):
        raise InvalidInputError("give either --text or --var, not both and not neither")
    post = session.get(Post, post_id)
    if post is None:
        raise NotFoundError("post", post_id, hint="see 'brandkit posts list'")
    if post.state in ("rejected", "cancelled"):
        raise StateError(
            f"post {post_id} is {post.state}; create a new one instead", current=post.state
        )
    workspace = session.get(Workspace, post.workspace_id)
    profile = session.get(Profile, post.profile_id) if post.profile_id else None
    assert workspace is not None
    template = library.get(post.template_name) if post.template_name else None
    if variables and template is None:
        raise InvalidInputError(f"post {post_id} was written as text; edit it with --text")
    if variables:
        post.variables = {**post.variables, **variables}
    rows = session.exec(
        select(Variant, Account).where(Variant.post_id == post_id, Variant.account_id == Account.id)
    ).all()
    chosen = [(v, a) for v, a in rows if account is None or a.name == account]
    if not chosen:
        raise NotFoundError("account on this post", account)
    unqueue: list[int] = []
    for variant, acct in chosen:
        assert variant.id is not None
        if variant.state not in EDITABLE:
            continue  # already out (or maybe out): the record must keep what was sent
        body = (
            text
            if text is not None
            else library.render(
                template,  # type: ignore[arg-type]
                post.variables,
                platform=acct.platform,
                context=template_context(workspace, profile),
            )
        )
        length, findings = check_variant(
            body,
            platform=acct.platform,
            language=post.language,
            template=template,
            allow=own_details(workspace, profile),
            has_image=post.image_url is not None,
        )
        if variant.state != S.DRAFT:
            if variant.state in (S.APPROVED, S.SCHEDULED):
                unqueue.append(variant.id)
            transition(session, variant.id, S(variant.state), S.DRAFT, now=now)
        session.refresh(variant)
        variant.text, variant.length, variant.findings = body, length, findings
        variant.updated_at = now
    # approval is of the whole post: editing one account's text withdraws the others' too, or
    # they would publish under an approval the post no longer has
    for variant, _acct in rows:
        assert variant.id is not None
        if (variant, _acct) not in chosen and variant.state in (S.APPROVED, S.SCHEDULED):
            unqueue.append(variant.id)
            transition(session, variant.id, S(variant.state), S.DRAFT, now=now)
    post.state = "draft"
    post.approved_by = post.approved_at = post.lint_override_reason = None
    post.updated_at = now
    return unqueue
