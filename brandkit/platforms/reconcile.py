"""Reading an account's posts newest first: the ``since`` cut-off, and finding a post again.

Most platforms take no idempotency key (X, LinkedIn, the Graph API), so after a publish whose
outcome is unknown the publisher asks the connector's ``find_post``, which reads the account's
latest posts since ``not_before`` and compares their text, normalised, with the draft. Reading
metrics with a ``since`` cut-off walks the same newest-first pages. Each connector used to carry
its own copy of both loops and of the normalisation; they are here once, and a connector keeps
only what is its own (how its pages are fetched, how its platform rewrites text).
"""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol, TypeVar

from brandkit.content.entities import find_urls
from brandkit.platforms.base import PostStats, PublishResult

#: How far before ``not_before`` a post still counts: the platform's clock may run behind ours.
FIND_POST_SLACK: Final = timedelta(minutes=1)
#: What every link becomes in :func:`comparable_text` with ``links=True``.
URL_PLACEHOLDER: Final = "\u2060url\u2060"


class Dated(Protocol):
    """A post as a platform lists it: when it was created and its text as readers see it."""

    @property
    def created_at(self) -> datetime: ...

    @property
    def text(self) -> str | None: ...


P = TypeVar("P", bound=Dated)


def aware(moment: datetime) -> datetime:
    """``moment`` with a time zone, a naive one read as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def earliest(not_before: datetime) -> datetime:
    """The oldest creation time ``find_post`` accepts: ``not_before`` less the clock slack."""
    return aware(not_before) - FIND_POST_SLACK


def comparable_text(text: str, *, links: bool = False) -> str:
    """``text`` as NFC with whitespace runs collapsed to one space, for recognising a post.

    With ``links``, each URL (bare domains too, as twitter-text finds them) becomes one
    placeholder, for a platform that rewrites links (X wraps every one in ``t.co``).
    """
    text = unicodedata.normalize("NFC", text)
    if links:
        parts: list[str] = []
        at = 0
        for start, end in find_urls(text):
            parts += [text[at:start], f" {URL_PLACEHOLDER} "]
            at = end
        parts.append(text[at:])
        text = "".join(parts)
    return " ".join(text.split())


def published(stats: PostStats) -> PublishResult:
    """A listed post as the :class:`PublishResult` ``find_post`` returns."""
    return PublishResult(stats.remote_id, stats.url, stats.created_at)


async def newest_since(
    pages: AsyncGenerator[Sequence[P], None], since: datetime | None
) -> AsyncIterator[P]:
    """The posts of newest-first ``pages`` created at or after ``since`` (all without one).

    Paging stops after the first page that reaches older posts: later pages hold nothing newer.
    """
    cutoff = aware(since) if since is not None else None
    async with aclosing(pages):
        async for page in pages:
            for post in page:
                if cutoff is None or post.created_at >= cutoff:
                    yield post
            if cutoff is not None and any(post.created_at < cutoff for post in page):
                return


async def find_by_text(
    pages: AsyncGenerator[Sequence[P], None],
    text: str,
    *,
    not_before: datetime,
    result: Callable[[P], PublishResult],
    comparable: Callable[[str], str] = comparable_text,
    newest_first: bool = True,
) -> PublishResult | None:
    """The first post of ``pages`` whose text matches ``text``, created since ``not_before``.

    Both texts are compared after ``comparable``; :data:`FIND_POST_SLACK` before ``not_before``
    still counts. With ``newest_first`` the search ends at the first older post; a listing that
    may put an older post first (a pinned one) passes ``newest_first=False`` and skips it.
    """
    wanted = comparable(text)
    threshold = earliest(not_before)
    async with aclosing(pages):
        async for page in pages:
            for post in page:
                if post.created_at < threshold:
                    if newest_first:
                        return None
                    continue
                if comparable(post.text or "") == wanted:
                    return result(post)
    return None
