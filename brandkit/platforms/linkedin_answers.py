"""How brandkit reads LinkedIn's answers: posts, follower counts, statistics and error bodies.

The Rest.li answers the connector uses (learn.microsoft.com/linkedin) are read here into small
values, so :mod:`brandkit.platforms.linkedin` keeps to what to ask and when:

- the posts finder (marketing/community-management/shares/posts-api): ``{"elements": [Post…],
  "paging": {"start", "count", "total", "links"}}``; a Post's ``commentary`` is little text,
  read back as readers see it (:func:`brandkit.content.escaping.unescape_little_text`), and
  its times are epoch milliseconds; drafts are dropped;
- ``/v2/userinfo`` (``sub``, ``name``), ``networkSizes`` (``firstDegreeSize``) and
  ``memberFollowersCount`` (``elements[0].memberFollowersCount``);
- ``organizationalEntityShareStatistics`` (``totalShareStatistics`` per share or ugcPost) and
  ``socialActions`` (a batch get keyed by post URN, keys possibly percent-encoded);
- error bodies: ``{"status", "serviceErrorCode", "code", "message"}``.

A shape that does not match raises :class:`~brandkit.platforms.fields.Shape`, which the shared
session turns into the "answer was not what the API documents" error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote

import httpx

from brandkit.content.escaping import unescape_little_text
from brandkit.platforms import fields


@dataclass(frozen=True, slots=True)
class Post:
    """A published post of the author: its URN, creation time and text as readers see it."""

    urn: str
    created_at: datetime
    text: str


@dataclass(frozen=True, slots=True)
class Counts:
    """One post's counters; ``None`` where LinkedIn reports nothing (members: reposts, views)."""

    likes: int | None = None
    replies: int | None = None
    reposts: int | None = None
    impressions: int | None = None


@dataclass(frozen=True, slots=True)
class PostsPage:
    """One page of the posts finder."""

    posts: list[Post]
    received: int  # elements on the page, drafts included: the offset moves by this much
    more: bool


def _epoch_ms(post: Mapping[str, object], *keys: str) -> datetime:
    value = fields.first_int(post, *keys)
    moment = fields.epoch(value / 1000) if value is not None else None
    if moment is None:
        raise fields.Shape(f"{keys[-1]!r} is missing or not epoch milliseconds")
    return moment


def parse_post(value: object) -> Post | None:
    """A Post entity, or ``None`` for a draft (it has no audience and no statistics)."""
    post = fields.mapping(value, "post")
    if post.get("lifecycleState") == "DRAFT":
        return None
    return Post(
        urn=fields.string(post, "id"),
        created_at=_epoch_ms(post, "publishedAt", "createdAt"),
        text=unescape_little_text(fields.opt_string(post, "commentary") or ""),
    )


def parse_posts_page(value: object, *, start: int, count: int) -> PostsPage:
    """One page of the posts finder: its posts and whether another page follows."""
    page = fields.mapping(value, "posts page")
    elements = fields.array(page.get("elements"), "elements")
    paging = page.get("paging")
    paging = paging if isinstance(paging, dict) else {}
    total = fields.opt_int(paging, "total")
    links = paging.get("links")
    has_next = isinstance(links, list) and any(
        isinstance(link, dict) and link.get("rel") == "next" for link in links
    )
    if total is not None:
        more = start + len(elements) < total
    else:
        more = has_next or len(elements) >= count
    posts = [p for p in map(parse_post, elements) if p is not None]
    return PostsPage(posts=posts, received=len(elements), more=more and bool(elements))


def userinfo(value: object) -> tuple[str, str | None]:
    info = fields.mapping(value, "userinfo")
    return fields.string(info, "sub"), fields.opt_string(info, "name")


def network_size(value: object) -> int:
    return fields.integer(fields.mapping(value, "network size"), "firstDegreeSize")


def member_followers(value: object) -> int:
    elements = fields.array(fields.mapping(value, "followers count").get("elements"), "elements")
    if not elements:
        raise fields.Shape("'elements' is empty")
    return fields.integer(fields.mapping(elements[0], "element"), "memberFollowersCount")


def share_statistics(value: object) -> dict[str, Counts]:
    """Per-post totals keyed by share or ugcPost URN; posts LinkedIn leaves out stay unknown."""
    found: dict[str, Counts] = {}
    data = fields.mapping(value, "share statistics")
    for item in fields.array(data.get("elements"), "elements"):
        element = fields.mapping(item, "element")
        urn = fields.opt_string(element, "share") or fields.opt_string(element, "ugcPost")
        if urn is None:
            continue  # an aggregate row, not one post's
        totals = fields.mapping(element.get("totalShareStatistics"), "totalShareStatistics")
        found[urn] = Counts(
            likes=fields.opt_int(totals, "likeCount"),
            replies=fields.opt_int(totals, "commentCount"),
            reposts=fields.opt_int(totals, "shareCount"),
            impressions=fields.opt_int(totals, "impressionCount"),
        )
    return found


def social_actions(value: object) -> dict[str, Counts]:
    """A batch get of social-action summaries, keyed by post URN (keys may come encoded)."""
    found: dict[str, Counts] = {}
    results = fields.mapping(fields.mapping(value, "social actions").get("results"), "results")
    for key, item in results.items():
        summary = fields.mapping(item, "social actions")
        likes = summary.get("likesSummary")
        comments = summary.get("commentsSummary")
        found[unquote(key)] = Counts(
            likes=fields.opt_int(likes, "totalLikes") if isinstance(likes, dict) else None,
            replies=fields.first_int(comments, "aggregatedTotalComments", "totalFirstLevelComments")
            if isinstance(comments, dict)
            else None,
        )
    return found


def error_text(response: httpx.Response) -> str | None:
    """LinkedIn's ``message`` and ``code`` from an error body, if it has them."""
    try:
        data = json.loads(response.content)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("message"), str):
        return None
    code = data.get("code")
    return f"{data['message']} ({code})" if isinstance(code, str) else data["message"]
