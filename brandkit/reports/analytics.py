"""Analytics queries: engagement, growth per account, cadence and attention, in SQL.

Every query is limited to one :class:`~brandkit.reports.scope.Scope` and returns a few small
rows. Engagement groupings read the per-post temporary table of :mod:`brandkit.reports.posts`.
Rows are dicts keyed by column label, and the labels are the field names of the dataclasses in
:mod:`brandkit.reports.model`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import Connection, Float, Subquery, case, cast, func, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from brandkit.db.models import Account, Post, Variant
from brandkit.reports.posts import with_text, with_text_lookup
from brandkit.reports.scope import PROBLEM_STATES, PUBLISHED, Scope, followers_at
from brandkit.reports.sql import Row, fetch

BucketKey = Literal[
    "template", "category", "language", "length_band", "local_weekday", "local_hour"
]
BUCKET_KEYS: tuple[BucketKey, ...] = (
    "template",
    "category",
    "language",
    "length_band",
    "local_weekday",
    "local_hour",
)


def post_stats(conn: Connection, posts: Subquery) -> list[Row]:
    """Every published post of the period, oldest first (JSON and CSV list them all)."""
    joined, columns = with_text(posts)
    query = select(*columns).select_from(joined)
    return fetch(conn, query.order_by(posts.c.published_at, posts.c.variant_id))


def ranked_posts(
    conn: Connection, posts: Subquery, *, best: bool, limit: int = 5, exclude: Sequence[int] = ()
) -> list[Row]:
    """The ``limit`` posts with the highest (or lowest) engagement rate; unrated ones never rank."""
    rate = posts.c.engagement_rate
    order = (rate.desc() if best else rate.asc(), posts.c.published_at, posts.c.variant_id)
    chosen = (
        select(posts)
        .where(rate.is_not(None), posts.c.variant_id.not_in(list(exclude)))
        .order_by(*order)
        .limit(limit)
        .subquery("chosen")
    )
    kept = chosen.c.engagement_rate
    again = (kept.desc() if best else kept.asc(), chosen.c.published_at, chosen.c.variant_id)
    return fetch(conn, select(*with_text_lookup(chosen)).order_by(*again))


def engagement(posts: Subquery) -> list[ColumnElement[Any]]:
    """How many posts, their mean rates and interactions (``avg`` skips unknown values)."""
    return [
        func.count().label("posts"),
        func.avg(posts.c.engagement_rate).label("mean_rate"),
        func.avg(cast(posts.c.interactions, Float)).label("mean_interactions"),
        func.avg(posts.c.impression_rate).label("mean_impression_rate"),
    ]


MEANS = {
    "mean_rate": "engagement_rate",
    "mean_interactions": "interactions",
    "mean_impression_rate": "impression_rate",
}
"""Each mean of a "what works" row and the per-post column it averages."""


def engagement_cells(conn: Connection, posts: Subquery) -> list[Row]:
    """Posts, and sum and count of each averaged column, per combination of all the keys.

    One scan of the per-post table answers every "what works" grouping (the six keys, the
    weekday × hour heatmap and the overall means): :func:`combine` adds the cells up, and a mean
    is a sum over a count again. Six keys that go together (a template has one language, and
    usually one category) leave a few thousand cells for tens of thousands of posts, where eight
    ``GROUP BY`` queries each scanned every post.
    """
    keys = [posts.c[key] for key in BUCKET_KEYS]
    sums = []
    for name, column in MEANS.items():
        value = cast(posts.c[column], Float)
        sums += [func.sum(value).label(f"{name}_sum"), func.count(value).label(f"{name}_count")]
    query = select(*keys, func.count().label("posts"), *sums).group_by(*keys)
    return fetch(conn, query)


def combine(cells: Sequence[Row], keys: Sequence[str]) -> list[Row]:
    """The cells added up by ``keys`` (none: one overall row), with the means; sorted by the
    keys, unknown values last. Every key value found in a cell has a row."""
    groups: dict[tuple[Any, ...], list[float]] = {}
    width = 1 + 2 * len(MEANS)
    for cell in cells:
        found = groups.setdefault(tuple(cell[k] for k in keys), [0.0] * width)
        found[0] += cell["posts"]
        for n, name in enumerate(MEANS):
            found[1 + 2 * n] += cell[f"{name}_sum"] or 0.0
            found[2 + 2 * n] += cell[f"{name}_count"]
    if not keys and not groups:
        groups[()] = [0.0] * width
    rows = []
    for key in sorted(groups, key=lambda k: [(v is None, v) for v in k]):
        totals = groups[key]
        row: Row = dict(zip(keys, key, strict=True)) | {"posts": int(totals[0])}
        for n, name in enumerate(MEANS):
            count = totals[2 + 2 * n]
            row[name] = totals[1 + 2 * n] / count if count else None
        rows.append(row)
    return rows


def account_rows(conn: Connection, scope: Scope, posts: Subquery) -> list[Row]:
    """Each account with followers at the period's start and end and its posts' engagement.

    Start is the last snapshot at or before ``start``, else the first inside the period, so an
    account added mid-period does not count its existing audience as growth.
    """
    stats = (
        select(posts.c.account_id, func.count().label("posts"), *engagement(posts)[1:2])
        .group_by(posts.c.account_id)
        .subquery("stats")
    )
    account_id = col(Account.id)
    start = func.coalesce(
        followers_at(account_id, scope.start, before=True),
        followers_at(account_id, scope.start, before=False),
    )
    end = followers_at(account_id, scope.end, before=True, inclusive=False)
    query = (
        select(
            account_id.label("account_id"),
            col(Account.name),
            col(Account.platform),
            col(Account.handle),
            col(Account.status),
            start.label("start_followers"),
            end.label("end_followers"),
            func.coalesce(stats.c.posts, 0).label("posts"),
            stats.c.mean_rate,
        )
        .outerjoin(stats, stats.c.account_id == account_id)
        .where(*scope.accounts())
        .order_by(col(Account.name))
    )
    return fetch(conn, query)


def cadence(conn: Connection, scope: Scope) -> list[Row]:
    """Per local ISO week: variants due, and how many were published, failed or missed."""
    due_at = col(Variant.due_at)
    due = (
        select(col(Variant.state), scope.local.week(due_at).label("week"))
        .join(Account, col(Account.id) == col(Variant.account_id))
        .where(*scope.accounts(), scope.during(due_at))
        .subquery("due")
    )

    def count(state: str) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((due.c.state == state, 1), else_=0)), 0)

    query = (
        select(
            due.c.week.label("week_start"),
            func.count().label("planned"),
            count(PUBLISHED).label("published"),
            count("failed").label("failed"),
            count("missed").label("missed"),
        )
        .group_by(due.c.week)
        .order_by(due.c.week)
    )
    return fetch(conn, query)


def problem_variants(conn: Connection, scope: Scope, *, limit: int = 50) -> list[Row]:
    """Variants due in the period that failed, were missed or are still unconfirmed (newest
    ``limit``; the cadence table has the counts)."""
    newest = (
        select(
            col(Variant.id).label("variant_id"),
            col(Variant.post_id),
            col(Account.name).label("account_name"),
            col(Post.template_name).label("template"),
            col(Variant.state),
            col(Variant.due_at),
            col(Variant.last_error),
        )
        .join(Post, col(Post.id) == col(Variant.post_id))
        .join(Account, col(Account.id) == col(Variant.account_id))
        .where(
            *scope.accounts(),
            col(Variant.state).in_(PROBLEM_STATES),
            scope.during(col(Variant.due_at)),
        )
        .order_by(col(Variant.due_at).desc(), col(Variant.id).desc())
        .limit(limit)
        .subquery("newest")
    )
    return fetch(conn, select(newest).order_by(newest.c.due_at, newest.c.variant_id))


def problem_accounts(conn: Connection, scope: Scope) -> list[Row]:
    """Accounts that cannot publish or sync now (any status but ``active``)."""
    return fetch(
        conn,
        select(
            col(Account.id).label("account_id"),
            col(Account.name),
            col(Account.platform),
            col(Account.status),
            col(Account.last_sync_at),
            col(Account.last_error),
        )
        .where(*scope.accounts(), col(Account.status) != "active")
        .order_by(col(Account.name)),
    )
