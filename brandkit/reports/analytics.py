"""Analytics queries: engagement, growth per account, cadence and attention, in SQL.

Every query is limited to one :class:`~brandkit.reports.scope.Scope` and returns a few small
rows. Engagement groupings read the per-post temporary table of :mod:`brandkit.reports.posts`.
Rows are dicts keyed by column label, and the labels are the field names of the dataclasses in
:mod:`brandkit.reports.model`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import Connection, Float, Table, case, cast, func, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from brandkit.db.models import Account, Post, Variant
from brandkit.reports.posts import with_text
from brandkit.reports.scope import PROBLEM_STATES, PUBLISHED, Scope, followers_at
from brandkit.reports.sql import Row, fetch

BucketKey = Literal[
    "template", "category", "language", "length_band", "local_weekday", "local_hour"
]


def post_stats(conn: Connection, posts: Table) -> list[Row]:
    """Every published post of the period, oldest first (JSON and CSV list them all)."""
    joined, columns = with_text(posts)
    query = select(*columns).select_from(joined)
    return fetch(conn, query.order_by(posts.c.published_at, posts.c.variant_id))


def ranked_posts(
    conn: Connection, posts: Table, *, best: bool, limit: int = 5, exclude: Sequence[int] = ()
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
    joined, columns = with_text(chosen)
    kept = chosen.c.engagement_rate
    again = (kept.desc() if best else kept.asc(), chosen.c.published_at, chosen.c.variant_id)
    return fetch(conn, select(*columns).select_from(joined).order_by(*again))


def engagement(posts: Table) -> list[ColumnElement[Any]]:
    """How many posts, their mean rates and interactions (``avg`` skips unknown values)."""
    return [
        func.count().label("posts"),
        func.avg(posts.c.engagement_rate).label("mean_rate"),
        func.avg(cast(posts.c.interactions, Float)).label("mean_interactions"),
        func.avg(posts.c.impression_rate).label("mean_impression_rate"),
    ]


def engagement_by(conn: Connection, posts: Table, key: BucketKey) -> list[Row]:
    """Mean engagement per value of ``key`` (template, category, language, band, weekday, hour)."""
    column = posts.c[key]
    query = select(column.label("key"), *engagement(posts)).group_by(column).order_by(column)
    return fetch(conn, query)


def heatmap(conn: Connection, posts: Table) -> list[Row]:
    """Posts and mean rate per (local weekday, local hour) that has any post."""
    weekday, hour = posts.c.local_weekday, posts.c.local_hour
    query = select(
        weekday.label("weekday"),
        hour.label("hour"),
        func.count().label("posts"),
        func.avg(posts.c.engagement_rate).label("mean_rate"),
    )
    return fetch(conn, query.group_by(weekday, hour).order_by(weekday, hour))


def overall_engagement(conn: Connection, posts: Table) -> Row:
    """Posts published in the period, their mean rates and mean interactions: one row."""
    return fetch(conn, select(*engagement(posts)))[0]


def account_rows(conn: Connection, scope: Scope, posts: Table) -> list[Row]:
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
