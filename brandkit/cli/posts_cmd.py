"""``brandkit posts``: create, review, approve, reject and cancel posts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import httpx
import typer
from sqlmodel import Session, col, select

from brandkit.cli.output import emit_json, emit_table, local
from brandkit.cli.state import console, state
from brandkit.cli.templates_cmd import parse_vars
from brandkit.content import TemplateLibrary
from brandkit.db.engine import session_scope
from brandkit.db.models import Account, Post, Variant
from brandkit.errors import InvalidInputError, NotFoundError
from brandkit.planner.calendar import local_to_utc
from brandkit.planner.drafts import draft_post, resolve_accounts
from brandkit.publishing.approval import (
    approve_and_queue,
    cancel_post,
    queue_variants,
    reject_post,
    reschedule_post,
    unqueue_variants,
)
from brandkit.publishing.editing import edit_post
from brandkit.publishing.jobs import JobQueue
from brandkit.workspace import current_workspace, default_profile

app = typer.Typer(
    help="Posts: new, list, show, edit, approve, reject, cancel, reschedule, retry.",
    no_args_is_help=True,
)


def parse_when(value: str, tz: ZoneInfo, now: datetime) -> datetime:
    """``now`` or a local date-time such as ``2026-12-01 12:30`` in the workspace's zone."""
    if value.strip().lower() == "now":
        return now
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidInputError(
            f"--at {value!r} is not a date and time",
            hint="write it as 2026-12-01 12:30 (local time) or 'now'",
        ) from exc
    if moment.tzinfo is not None:
        return moment.astimezone(UTC)
    return local_to_utc(moment.date(), moment.time(), tz)


def _variant_rows(session: Session, post_id: int, tz: ZoneInfo) -> list[dict[str, Any]]:
    rows = []
    for v, account in session.exec(
        select(Variant, Account).where(Variant.post_id == post_id, Variant.account_id == Account.id)
    ).all():
        rows.append(
            {
                "id": v.id,
                "account": account.name,
                "platform": account.platform,
                "state": v.state,
                "length": v.length,
                "text": v.text,
                "findings": v.findings,
                "attempts": v.attempts,
                "last_error": v.last_error,
                "remote_url": v.remote_url,
                "published_at": v.published_at,
            }
        )
    return rows


def _is_public_https_url(value: str) -> bool:
    """An https URL with a dotted host name (the platform's servers must be able to fetch it)."""
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL:
        return False
    host = url.host
    return url.scheme == "https" and "." in host and host not in {"127.0.0.1"} and bool(url.path)


@app.command("new")
def new(
    ctx: typer.Context,
    account: Annotated[list[str], typer.Option("--account", help="Account name (repeatable).")],
    at: Annotated[str, typer.Option("--at", help="Local time 'YYYY-MM-DD HH:MM' or 'now'.")],
    template: Annotated[str | None, typer.Option(help="Template name.")] = None,
    text: Annotated[
        str | None, typer.Option(help="The post's text, instead of a template.")
    ] = None,
    var: Annotated[list[str] | None, typer.Option("--var", help="KEY=VALUE (repeatable).")] = None,
    image_url: Annotated[
        str | None,
        typer.Option(help="Public https URL of an image (Instagram needs one; others ignore it)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Draft a one-off post from a template or a text, optionally with an image by URL.

    Example: brandkit posts new --template ja/health_tip --var topic=睡眠 --account dr-yamada \\
    --at "2026-12-01 12:30"
    """
    if (template is None) == (text is None):
        raise InvalidInputError("give exactly one of --template and --text")
    if image_url is not None and not _is_public_https_url(image_url):
        raise InvalidInputError(
            f"--image-url {image_url!r} is not a public https URL",
            hint="the platform fetches the image itself, so give an https:// address it can reach",
        )
    st = state(ctx)
    settings = st.settings()
    now = datetime.now(UTC)
    with session_scope(st.engine()) as session:
        workspace = current_workspace(session)
        post = draft_post(
            session,
            TemplateLibrary(settings.template_dirs),
            workspace=workspace,
            profile=default_profile(session, workspace),
            accounts=resolve_accounts(session, account),
            scheduled_at=parse_when(at, settings.tz, now),
            now=now,
            template_name=template,
            text=text,
            variables=parse_vars(var),
            image_url=image_url,
        )
        assert post.id is not None
        rows = _variant_rows(session, post.id, settings.tz)
    if as_json:
        emit_json({"id": post.id, "variants": rows})
        return
    console.print(f"Drafted post {post.id} for {local(post.scheduled_at, settings.tz)}.")
    for r in rows:
        errors = sum(1 for f in r["findings"] if f["severity"] == "error")
        console.print(f"  {r['account']}: {r['length']} chars, {errors} error(s)")
    console.print(f"Approve it with: brandkit posts approve {post.id}")


@app.command("list")
def list_(
    ctx: typer.Context,
    state_filter: Annotated[
        str | None,
        typer.Option("--state", help="Only variants in this state (e.g. failed, missed)."),
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List posts' variants, newest slot first, with their state.

    Example: brandkit posts list --state failed --json
    """
    st = state(ctx)
    tz = st.settings().tz
    with session_scope(st.engine()) as session:
        query = select(Variant, Post, Account).where(
            Variant.post_id == Post.id, Variant.account_id == Account.id
        )
        if state_filter:
            query = query.where(Variant.state == state_filter)
        query = query.order_by(col(Post.scheduled_at).desc(), col(Variant.id)).limit(limit)
        rows: list[dict[str, Any]] = [
            {
                "post": p.id,
                "variant": v.id,
                "at": p.scheduled_at,
                "account": a.name,
                "template": p.template_name,
                "state": v.state,
                "post_state": p.state,
                "text": v.text,
                "last_error": v.last_error,
                "url": v.remote_url,
            }
            for v, p, a in session.exec(query).all()
        ]
    if as_json:
        emit_json(rows)
        return
    emit_table(
        "Posts",
        ["post", "at", "account", "template", "state", "text"],
        [
            [
                r["post"],
                local(r["at"], tz),
                r["account"],
                r["template"] or "(text)",
                r["state"],
                r["text"].splitlines()[0][:30] if r["text"] else "",
            ]
            for r in rows
        ],
    )


@app.command("show")
def show(
    ctx: typer.Context,
    post_id: Annotated[int, typer.Argument(help="Post id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show one post with every variant, its findings and its publishing history.

    Example: brandkit posts show 12
    """
    st = state(ctx)
    tz = st.settings().tz
    with session_scope(st.engine()) as session:
        post = session.get(Post, post_id)
        if post is None:
            raise NotFoundError("post", post_id, hint="see 'brandkit posts list'")
        data: dict[str, Any] = {
            "id": post.id,
            "state": post.state,
            "scheduled_at": post.scheduled_at,
            "template": post.template_name,
            "variables": post.variables,
            "approved_by": post.approved_by,
            "override": post.lint_override_reason,
            "rejected_by": post.rejected_by,
            "rejected_at": post.rejected_at,
            "review_comment": post.review_comment,
            "image_url": post.image_url,
            "variants": _variant_rows(session, post_id, tz),
        }
    if as_json:
        emit_json(data)
        return
    console.print(
        f"[bold]Post {post_id}[/] ({data['state']}) at {local(post.scheduled_at, tz)}"
        f" — {data['template'] or 'text'}"
    )
    if post.image_url:
        console.print(f"image: {post.image_url}", markup=False)
    if post.rejected_by:
        when = f" at {local(post.rejected_at, tz)}" if post.rejected_at else ""
        why = f": {post.review_comment}" if post.review_comment else ""
        console.print(f"rejected by {post.rejected_by}{when}{why}", markup=False)
    for v in data["variants"]:
        console.rule(f"{v['account']} ({v['platform']}): {v['state']}")
        console.print(v["text"], markup=False, highlight=False)
        for f in v["findings"]:
            console.print(f"  {f['severity']}: {f['rule']} — {f['message']}", markup=False)
        if v["last_error"]:
            console.print(f"  last error: {v['last_error']}", markup=False)
        if v["remote_url"]:
            console.print(f"  {v['remote_url']}")


@app.command("edit")
def edit(
    ctx: typer.Context,
    post_id: Annotated[int, typer.Argument(help="Post id.")],
    text: Annotated[str | None, typer.Option(help="New text for the post.")] = None,
    var: Annotated[
        list[str] | None, typer.Option("--var", help="KEY=VALUE to change (repeatable).")
    ] = None,
    account: Annotated[
        str | None, typer.Option(help="Only this account's variant (with --text).")
    ] = None,
) -> None:
    """Change a post's text or variables; it is checked again and goes back to draft.

    Example: brandkit posts edit 12 --var topic=睡眠
    """
    st = state(ctx)
    engine = st.engine()
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        unqueue = edit_post(
            session,
            TemplateLibrary(st.settings().template_dirs),
            post_id,
            now=now,
            text=text,
            variables=parse_vars(var),
            account=account,
        )
    with JobQueue(engine) as queue:
        unqueue_variants(queue, unqueue)
    console.print(
        f"Edited post {post_id}; it is a draft again: review it with "
        f"'brandkit posts show {post_id}', then approve it."
    )


@app.command("approve")
def approve(
    ctx: typer.Context,
    post_id: Annotated[int, typer.Argument(help="Post id.")],
    by: Annotated[str, typer.Option(help="Who approves.")] = "owner",
    override: Annotated[
        str | None, typer.Option(help="Reason for approving despite error findings (recorded).")
    ] = None,
) -> None:
    """Approve a draft and queue its variants for publishing at the post's time.

    Example: brandkit posts approve 12 --by dr-yamada
    """
    st = state(ctx)
    engine = st.engine()
    grace = timedelta(minutes=st.settings().publish_grace_minutes)
    with JobQueue(engine) as queue:
        queued = approve_and_queue(
            engine,
            queue,
            post_id,
            by=by,
            now=datetime.now(UTC),
            override_reason=override,
            grace=grace,
        )
    console.print(f"Approved post {post_id}; {len(queued)} variant(s) queued.")


@app.command("reschedule")
def reschedule(
    ctx: typer.Context,
    post_id: Annotated[int, typer.Argument(help="Post id.")],
    at: Annotated[str, typer.Option("--at", help="Local time 'YYYY-MM-DD HH:MM' or 'now'.")],
) -> None:
    """Move a post to a new time; failed or missed variants are scheduled again.

    Example: brandkit posts reschedule 12 --at "2026-12-02 12:30"
    """
    _reschedule(ctx, post_id, at)


@app.command("retry")
def retry(
    ctx: typer.Context,
    post_id: Annotated[int, typer.Argument(help="Post id.")],
) -> None:
    """Publish a post's failed or missed variants now.

    Example: brandkit posts retry 12
    """
    _reschedule(ctx, post_id, "now")


def _reschedule(ctx: typer.Context, post_id: int, at: str) -> None:
    st = state(ctx)
    engine = st.engine()
    now = datetime.now(UTC)
    moment = parse_when(at, st.settings().tz, now)
    with session_scope(engine) as session:
        queued = reschedule_post(session, post_id, at=moment, now=now)
    with JobQueue(engine) as queue, session_scope(engine) as session:
        queue_variants(session, queue, queued)
    console.print(
        f"Post {post_id} now at {local(moment, st.settings().tz)}; {len(queued)} variant(s) queued."
    )


@app.command("reject")
def reject(
    ctx: typer.Context,
    post_id: Annotated[int, typer.Argument(help="Post id.")],
    by: Annotated[str, typer.Option(help="Who rejects.")] = "owner",
    comment: Annotated[
        str | None,
        typer.Option(help="Why, and what to change (kept on the post; 'posts show' shows it)."),
    ] = None,
) -> None:
    """Reject a draft: none of its variants will be published.

    Example: brandkit posts reject 12 --by dr-yamada --comment "数字の根拠を添えてください"
    """
    st = state(ctx)
    with session_scope(st.engine()) as session:
        reject_post(session, post_id, by=by, now=datetime.now(UTC), comment=comment)
    console.print(f"Rejected post {post_id}.")


@app.command("cancel")
def cancel(
    ctx: typer.Context,
    post_id: Annotated[int, typer.Argument(help="Post id.")],
) -> None:
    """Cancel every variant of a post that has not been published yet.

    Example: brandkit posts cancel 12
    """
    st = state(ctx)
    engine = st.engine()
    with session_scope(engine) as session:
        cancelled = cancel_post(session, post_id, now=datetime.now(UTC))
    with JobQueue(engine) as queue:
        unqueue_variants(queue, cancelled)
    console.print(f"Cancelled {len(cancelled)} variant(s) of post {post_id}.")
