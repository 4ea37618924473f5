"""The per-post table every engagement figure comes from, computed once per report.

For each published variant of the period: its latest counters, followers when it went out,
local weekday and hour, category, language, length band, the newest reading and the peak
interactions (for the gap checks), and its rates. :func:`posts_table` runs this once into a
temporary table that every "what works" grouping then aggregates, so no query loops over posts
in Python and no lookup runs twice.
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
    Table,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    update,
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
    **dict.fromkeys(("engagement_rate", "impression_rate"), Float()),
}
"""The columns of the per-post table, by label (the fields of ``PostStat`` and a few more)."""


def post_rows(scope: Scope, categories: Mapping[str, str], *, detail: bool = True) -> Select[Any]:
    """Published variants of the period with latest counters, followers then, and local time;
    the rates are left ``NULL`` for :func:`rates` to fill.

    A post's category is its topic's (the planner's backlog), else its template's front-matter
    category (``categories`` maps template names to them), else its calendar slot's. Without
    ``detail`` the last sync inside the post's metrics window (read only by the gap checks) is
    ``NULL``, which saves a lookup per post for the goal series.
    """
    latest, topics = _latest_readings(scope), _topic_categories()
    published_at, account_id = col(Variant.published_at), col(Variant.account_id)
    window_end = shifted(scope.local.dialect, published_at, METRICS_WINDOW)
    window_sync = select(func.max(col(AccountSnapshot.taken_at))).where(
        col(AccountSnapshot.account_id) == account_id, col(AccountSnapshot.taken_at) <= window_end
    )
    measured = case((col(Variant.length) > 0, col(Variant.length)), else_=func.length(Variant.text))
    return (
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
            *(latest.columns[name].label(name) for name in READING_FIELDS[:-2]),
            func.coalesce(
                followers_at(account_id, published_at, before=True),
                followers_at(account_id, published_at, before=False),
            ).label("followers"),
            *(latest.columns[name].label(name) for name in READING_FIELDS[-2:]),
            (window_sync.scalar_subquery() if detail else null()).label("window_sync_at"),
            cast(null(), Float).label("engagement_rate"),  # set by rates(), see posts_table
            cast(null(), Float).label("impression_rate"),
        )
        .join(Post, col(Post.id) == col(Variant.post_id))
        .join(Account, account_id == col(Account.id))
        .outerjoin(Slot, col(Slot.id) == col(Post.slot_id))
        .outerjoin(topics, topics.c.post_id == col(Post.id))
        .outerjoin(latest.table, latest.on)
        .where(*published(scope))
    )


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
    """
    interactions = cast(posts.c.interactions, Float)
    return {
        "engagement_rate": interactions / func.nullif(posts.c.followers, 0),
        "impression_rate": interactions / func.nullif(posts.c.impressions, 0),
    }


@contextmanager
def posts_table(
    conn: Connection, scope: Scope, categories: Mapping[str, str] = {}
) -> Iterator[Table]:
    """The period's published posts, computed once into a temporary table for the groupings."""
    with temporary_table(conn, "report_posts", post_rows(scope, categories), POST_TYPES) as table:
        conn.execute(update(table).values(rates(table)))
        yield table


def with_text(posts: Any) -> tuple[Any, list[Any]]:
    """The per-post table joined to its variants, and the ``PostStat`` columns to select.

    Text and link stay out of the temporary table (they are most of its bytes) and are read
    here for the few posts a report lists.
    """
    joined = posts.join(Variant, col(Variant.id) == posts.c.variant_id)
    columns = [
        col(Variant.text) if name == "text" else
        col(Variant.remote_url).label("url") if name == "url" else
        posts.c[name]
        for name in POST_FIELDS
    ]  # fmt: skip
    return joined, columns


POST_FIELDS = (
    "variant_id", "post_id", "account_id", "account_name", "platform", "template", "category",
    "language", "length", "length_band", "text", "url", "published_at", "local_weekday",
    "local_hour", *COUNTERS, "impressions", "interactions", "followers", "engagement_rate",
    "impression_rate",
)  # fmt: skip
"""The per-post columns a :class:`~brandkit.reports.model.PostStat` holds."""
