"""The per-post table every engagement figure comes from, computed once per report.

For each published variant of the period: its latest counters, followers when it went out,
local weekday and hour, category, language, length band, the newest reading and the peak
interactions (for the gap checks), and its rates. :func:`posts_table` runs this once into a
temporary table that one query then aggregates for every "what works" grouping (and a few more
read for the ranking, the accounts and the gaps), so no query loops over posts in Python and no
lookup runs twice. The rates are computed as the table is read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import reduce
from operator import add
from typing import Any

from sqlalchemy import (
    Connection,
    Float,
    Integer,
    Select,
    String,
    Subquery,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine
from sqlmodel import col

from brandkit.db.models import (
    Account,
    AccountSnapshot,
    Post,
    PostMetrics,
    Slot,
    Topic,
    Variant,
)
from brandkit.db.types import UTCDateTime
from brandkit.reports.localtime import shifted
from brandkit.reports.scope import (
    COUNTERS,
    LENGTH_BANDS,
    METRICS_WINDOW,
    PUBLISHED,
    STOPPED_SLACK,
    Scope,
    followers_at,
)
from brandkit.reports.sql import temporary_table


def interactions_of(row: Any) -> ColumnElement[int]:
    """The sum of the reported counters of a metrics row; ``NULL`` when none is reported."""
    counters = [getattr(row, name) for name in COUNTERS]
    return case(
        (
            or_(*(c.is_not(None) for c in counters)),
            reduce(add, map(func.coalesce, counters, [0] * 5)),
        ),
        else_=None,
    )


POST_TYPES: dict[str, TypeEngine[Any]] = {
    **dict.fromkeys(
        ("variant_id", "post_id", "account_id", "length", "length_band", "local_weekday"),
        Integer(),
    ),
    **dict.fromkeys(("local_hour", *COUNTERS, "impressions", "interactions"), Integer()),
    **dict.fromkeys(("followers", "peak_interactions"), Integer()),
    **dict.fromkeys(("account_name", "platform", "template", "category", "language"), String()),
    **dict.fromkeys(("published_at", "metrics_at", "window_sync_at"), UTCDateTime()),
}
"""The columns of the per-post table, by label (the fields of ``PostStat`` but the rates and the
text, and a few more)."""


def post_rows(scope: Scope, categories: Mapping[str, str], *, detail: bool = True) -> Select[Any]:
    """Published variants of the period with latest counters, followers then, and local time;
    the rates are computed from these columns by :func:`rates`.

    A post's category is its topic's (the planner's backlog), else its template's front-matter
    category (``categories`` maps template names to them), else its calendar slot's. Without
    ``detail`` the last sync inside the post's metrics window (read only by the gap checks) is
    ``NULL``, which saves a lookup per post for the goal series.

    The snapshot lookups run over the joined rows (``base``). PostgreSQL runs them in the order
    the rows arrive, so there the rows come sorted by account and time (behind ``OFFSET 0``,
    which keeps the planner from folding the subquery back in): each lookup then finds the
    index pages the previous one read, a third faster for a two-year report than in
    publication order. SQLite folds the subquery into one query as before.
    """
    latest, topics = _latest_readings(scope), _topic_categories()
    published_at, account_id = col(Variant.published_at), col(Variant.account_id)
    measured = case((col(Variant.length) > 0, col(Variant.length)), else_=func.length(Variant.text))
    rows = (
        select(
            col(Variant.id).label("variant_id"),
            col(Variant.post_id),
            account_id,
            col(Account.name).label("account_name"),
            col(Account.platform),
            col(Post.template_name).label("template"),
            func.coalesce(topics.c.name, _category(categories), col(Slot.category)).label(
                "category"
            ),
            col(Post.language),
            measured.label("length"),
            _band(measured).label("length_band"),
            published_at,
            scope.local.weekday(published_at).label("local_weekday"),
            scope.local.hour(published_at).label("local_hour"),
            *(latest.columns[name].label(name) for name in READING_FIELDS),
        )
        .join(Post, col(Post.id) == col(Variant.post_id))
        .join(Account, account_id == col(Account.id))
        .outerjoin(Slot, col(Slot.id) == col(Post.slot_id))
        .outerjoin(topics, topics.c.post_id == col(Post.id))
        .outerjoin(latest.table, latest.on)
        .where(*published(scope))
    )
    if scope.local.dialect == "postgresql":
        rows = rows.order_by(account_id, published_at).offset(0)
    base = rows.subquery("base")
    followers = func.coalesce(
        followers_at(base.c.account_id, base.c.published_at, before=True),
        followers_at(base.c.account_id, base.c.published_at, before=False),
    )
    window_sync = _window_sync(scope, base) if detail else null()
    gap_fields = READING_FIELDS[-2:]  # metrics_at, peak_interactions: after the followers
    return select(
        *(column for column in base.c if column.name not in gap_fields),
        followers.label("followers"),
        *(base.c[name] for name in gap_fields),
        window_sync.label("window_sync_at"),
    )


def _window_sync(scope: Scope, base: Subquery) -> ColumnElement[Any]:
    """The account's last sync inside the post's metrics window, for the "stopped" gap check,
    looked up only where that check can find something.

    The check (:func:`brandkit.reports.gaps.find_gaps`) asks whether the post's last reading
    (or its publication) lies more than ``STOPPED_SLACK`` before this sync. The sync is at most
    ``published_at + METRICS_WINDOW``, so a post last seen within ``STOPPED_SLACK`` of its
    window's end can never qualify; for it the column is ``NULL`` (which the check reads as "not
    stopped") and the lookup is skipped. That is nearly every post of a long report: a two-year
    report looks up only its last month's posts and the few that stopped early.
    """
    dialect, published_at = scope.local.dialect, base.c.published_at
    window_end = shifted(dialect, published_at, METRICS_WINDOW)
    last_seen = func.coalesce(base.c.metrics_at, published_at)
    sync = select(func.max(col(AccountSnapshot.taken_at))).where(
        col(AccountSnapshot.account_id) == base.c.account_id,
        col(AccountSnapshot.taken_at) <= window_end,
    )
    can_stop = last_seen < shifted(dialect, published_at, METRICS_WINDOW - STOPPED_SLACK)
    return case((can_stop, sync.scalar_subquery()), else_=None)


def _topic_categories() -> Subquery:
    """The category of the backlog topic that filled each post (the planner's ``topic``)."""
    return (
        select(col(Topic.used_by_post_id).label("post_id"), func.min(Topic.category).label("name"))
        .where(col(Topic.used_by_post_id).is_not(None))
        .group_by(col(Topic.used_by_post_id))
        .subquery("topics")
    )


def _band(length: ColumnElement[int]) -> ColumnElement[int]:
    """The lower bound of the :data:`LENGTH_BANDS` band that ``length`` falls in."""
    return case(
        *((length >= low, literal(low)) for low in reversed(LENGTH_BANDS[1:])),
        else_=literal(LENGTH_BANDS[0]),
    )


def published(scope: Scope) -> list[ColumnElement[bool]]:
    """Variants published in the scope's period on its accounts (with ``Account`` joined)."""
    published_at = col(Variant.published_at)
    return [*scope.accounts(), col(Variant.state) == PUBLISHED, scope.during(published_at)]


READING_FIELDS = (*COUNTERS, "impressions", "interactions", "metrics_at", "peak_interactions")


@dataclass(frozen=True)
class Latest:
    """Where each post's newest reading comes from: what to join, on what, and its columns."""

    table: Any
    on: ColumnElement[bool]
    columns: dict[str, Any]


def _latest_readings(scope: Scope) -> Latest:
    """Each published variant's newest metrics reading, and its highest interactions ever.

    Written per database, like local time: PostgreSQL does best with one pass of window
    functions over the period's readings (a lookup per post in a join condition makes it hash
    every reading in the database), SQLite with two index lookups per post (its window plan
    scans every reading, and a subquery of lookups doubles the work). Same columns either way.
    """
    if scope.local.dialect == "postgresql":
        return _latest_by_window(scope)
    return _latest_by_lookup()


def _latest_by_window(scope: Scope) -> Latest:
    interactions = interactions_of(PostMetrics)
    variant_id = col(PostMetrics.variant_id)
    newest_first = (col(PostMetrics.taken_at).desc(), col(PostMetrics.id).desc())
    ranked = (
        select(
            variant_id,
            *(col(getattr(PostMetrics, name)) for name in (*COUNTERS, "impressions")),
            interactions.label("interactions"),
            col(PostMetrics.taken_at).label("metrics_at"),
            func.row_number().over(partition_by=variant_id, order_by=newest_first).label("rank"),
            func.max(interactions).over(partition_by=variant_id).label("peak_interactions"),
        )
        .join(Variant, col(Variant.id) == variant_id)
        .join(Account, col(Account.id) == col(Variant.account_id))
        .where(*published(scope))
        .subquery("readings")
    )
    newest = select(ranked).where(ranked.c.rank == 1).subquery("latest")
    columns = {name: newest.c[name] for name in READING_FIELDS}
    return Latest(newest, newest.c.variant_id == col(Variant.id), columns)


def _latest_by_lookup() -> Latest:
    of_variant = col(PostMetrics.variant_id) == col(Variant.id)
    newest = (
        select(col(PostMetrics.id))
        .where(of_variant)
        .order_by(col(PostMetrics.taken_at).desc(), col(PostMetrics.id).desc())
        .limit(1)
        .scalar_subquery()
    )
    peak = select(func.max(interactions_of(PostMetrics))).where(of_variant).scalar_subquery()
    metrics = aliased(PostMetrics)
    columns: dict[str, Any] = {
        name: col(getattr(metrics, name)) for name in (*COUNTERS, "impressions")
    }
    columns |= {
        "interactions": interactions_of(metrics),
        "metrics_at": col(metrics.taken_at),
        "peak_interactions": peak,
    }
    return Latest(metrics, col(metrics.id) == newest, columns)


def _category(categories: Mapping[str, str]) -> ColumnElement[str | None]:
    if not categories:
        return cast(null(), String)
    return case(dict(categories), value=col(Post.template_name), else_=None)


def rates(posts: Any) -> dict[str, ColumnElement[Any]]:
    """Engagement by followers and by impressions, from a per-post table's columns.

    Separate from :func:`post_rows` because PostgreSQL inlines a subquery into the query around
    it: a rate written there would repeat the followers lookup for every mention of it. Each
    column is named once here, and ``NULLIF`` turns a zero into "unknown", not a division error.
    A division per row and query costs less than storing the rates (an ``UPDATE`` of every row
    of the temporary table). Both sides are cast to floating point: SQLAlchemy would otherwise
    send the divisor through PostgreSQL's ``numeric``, which made each scan twice as slow.
    """
    interactions = cast(posts.c.interactions, Float)
    return {
        "engagement_rate": interactions / cast(func.nullif(posts.c.followers, 0), Float),
        "impression_rate": interactions / cast(func.nullif(posts.c.impressions, 0), Float),
    }


@contextmanager
def posts_table(
    conn: Connection, scope: Scope, categories: Mapping[str, str] = {}
) -> Iterator[Subquery]:
    """The period's published posts, computed once into a temporary table for the groupings,
    read through a subquery that adds the two rates (``engagement_rate``, ``impression_rate``)."""
    with temporary_table(conn, "report_posts", post_rows(scope, categories), POST_TYPES) as table:
        yield select(table, *(rate.label(name) for name, rate in rates(table).items())).subquery(
            "posts"
        )


def with_text(posts: Any) -> tuple[Any, list[Any]]:
    """The per-post table joined to its variants, and the ``PostStat`` columns to select.

    Text and link stay out of the temporary table (they are most of its bytes) and are read
    here for the posts a report lists in full (JSON and CSV).
    """
    joined = posts.join(Variant, col(Variant.id) == posts.c.variant_id)
    columns = [
        col(Variant.text) if name == "text" else
        col(Variant.remote_url).label("url") if name == "url" else
        posts.c[name]
        for name in POST_FIELDS
    ]  # fmt: skip
    return joined, columns


def variant_column(posts: Any, name: str) -> ColumnElement[Any]:
    """One column of each row's variant (``text``, ``remote_url``), looked up by id.

    For the handful of rows a query keeps with ``LIMIT`` (top posts, listed gaps): joined to the
    variants instead, the limited subquery is materialised by SQLite without its top-N sort, which
    then sorted every post of the period (47,000 in a two-year report) to keep five.
    """
    column = col(getattr(Variant, name))
    return select(column).where(col(Variant.id) == posts.c.variant_id).scalar_subquery()


def with_text_lookup(posts: Any) -> list[Any]:
    """The ``PostStat`` columns of a few rows of ``posts``, text and link looked up by id."""
    return [
        variant_column(posts, "text").label("text") if name == "text" else
        variant_column(posts, "remote_url").label("url") if name == "url" else
        posts.c[name]
        for name in POST_FIELDS
    ]  # fmt: skip


POST_FIELDS = (
    "variant_id", "post_id", "account_id", "account_name", "platform", "template", "category",
    "language", "length", "length_band", "text", "url", "published_at", "local_weekday",
    "local_hour", *COUNTERS, "impressions", "interactions", "followers", "engagement_rate",
    "impression_rate",
)  # fmt: skip
"""The per-post columns a :class:`~brandkit.reports.model.PostStat` holds."""
