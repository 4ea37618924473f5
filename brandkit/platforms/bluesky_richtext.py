"""The text of a Bluesky post: its length limits, rich-text facets and language.

Split out of :mod:`brandkit.platforms.bluesky` because turning text into an
``app.bsky.feed.post`` record's ``text``, ``facets`` and ``langs`` is pure string work with
rules of its own (advanced-guides/post-richtext): facets point at UTF-8 *byte* offsets, mentions
and hashtags follow the official RichText detection, and the lexicon limits a post both in
graphemes and in bytes. Nothing here talks to the network; the connector resolves the mentioned
handles to DIDs and passes them in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

import regex

from brandkit.content.entities import find_urls, grapheme_count

MAX_GRAPHEMES: Final = 300  # app.bsky.feed.post: text maxGraphemes
MAX_BYTES: Final = 3000  # … and maxLength (UTF-8 bytes)


def length_problem(text: str) -> str | None:
    """Why ``text`` is too long for a post (graphemes and bytes), or ``None`` if it fits."""
    if grapheme_count(text) > MAX_GRAPHEMES or len(text.encode()) > MAX_BYTES:
        return (
            f"the post has {grapheme_count(text)} characters (graphemes) and "
            f"{len(text.encode())} bytes; Bluesky allows {MAX_GRAPHEMES} and {MAX_BYTES}"
        )
    return None


# atproto.com/specs/handle, found only at the start, after whitespace or "(" as the official
# RichText detection does (packages/api/src/rich-text/util.ts MENTION_REGEX)
_MENTION: Final = re.compile(
    r"(?:^|(?<=[\s(]))@((?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+"
    r"[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(?![a-zA-Z0-9-]|\.[a-zA-Z0-9])"
)
_NO_HANDLE_TLDS: Final = frozenset(
    {"alt", "arpa", "example", "internal", "invalid", "local", "localhost", "onion"}
)
# the official TAG_REGEX (same file): after start or whitespace, not all digits or punctuation
_INVISIBLE: Final = "\u00ad\u2060\u200a\u200b\u200c\u200d\u20e2"
_TAG: Final = regex.compile(
    rf"(^|\s)[#＃]((?!\ufe0f)[^\s{_INVISIBLE}]*[^0-9\s\p{{P}}{_INVISIBLE}]+[^\s{_INVISIBLE}]*)?"
)
_TRAILING_PUNCTUATION: Final = regex.compile(r"\p{P}+$")
_KANA_OR_HAN: Final = re.compile(
    "[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]"
)
_LATIN: Final = re.compile("[A-Za-z]")

Span = tuple[int, int, int, dict[str, str]]  # start, end (str indexes), priority, feature


def _mention_spans(text: str) -> list[tuple[int, int, str]]:
    found = []
    for match in _MENTION.finditer(text):
        handle = match.group(1).lower()
        if len(handle) <= 253 and handle.rsplit(".", 1)[-1] not in _NO_HANDLE_TLDS:
            found.append((match.start(), match.end(), handle))
    return found


def mention_handles(text: str) -> list[str]:
    """The handles ``text`` mentions, in order, each once (to resolve to DIDs)."""
    return list(dict.fromkeys(handle for _, _, handle in _mention_spans(text)))


def _tag_spans(text: str) -> list[tuple[int, int, str]]:
    found = []
    for match in _TAG.finditer(text):
        tag = _TRAILING_PUNCTUATION.sub("", (match.group(2) or "").strip())
        if tag and grapheme_count(tag) <= 64 and len(tag.encode()) <= 640:
            start = match.start() + len(match.group(1))
            found.append((start, start + 1 + len(tag), tag))
    return found


def _spans(text: str, dids: Mapping[str, str]) -> list[Span]:
    spans: list[Span] = []
    for start, end in find_urls(text):
        uri = text[start:end]
        if not uri.lower().startswith(("http://", "https://")):
            uri = "https://" + uri
        spans.append((start, end, 0, {"$type": "app.bsky.richtext.facet#link", "uri": uri}))
    for start, end, handle in _mention_spans(text):
        if did := dids.get(handle):
            spans.append((start, end, 1, {"$type": "app.bsky.richtext.facet#mention", "did": did}))
    for start, end, tag in _tag_spans(text):
        spans.append((start, end, 2, {"$type": "app.bsky.richtext.facet#tag", "tag": tag}))
    return sorted(spans, key=lambda s: (s[0], s[2]))


def build_facets(text: str, dids: Mapping[str, str]) -> list[dict[str, Any]]:
    """``app.bsky.richtext.facet`` objects for the links, mentions and hashtags of ``text``.

    Offsets are UTF-8 byte offsets, start inclusive, end exclusive (advanced-guides/post-richtext).
    Links are found as :func:`brandkit.content.entities.find_urls` finds them (a bare domain gets
    ``https://``), which also links a URL written straight after Japanese text; mentions and
    hashtags follow the official RichText rules, and a mention whose handle is not in ``dids``
    (it did not resolve) stays plain text. Facets may not overlap, so a later one that would is
    dropped, links winning over mentions over tags.
    """
    spans = _spans(text, dids)
    if not spans:
        return []
    offsets = [0]
    for char in text:
        offsets.append(offsets[-1] + len(char.encode("utf-8", "surrogatepass")))
    facets: list[dict[str, Any]] = []
    taken = 0
    for start, end, _, feature in spans:
        if start < taken:
            continue
        taken = end
        facets.append(
            {
                "index": {"byteStart": offsets[start], "byteEnd": offsets[end]},
                "features": [feature],
            }
        )
    return facets


def _entity_ranges(text: str) -> list[tuple[int, int]]:
    """Where the links, mention-like handles and hashtags of ``text`` are."""
    mentions = [(start, end) for start, end, _ in _mention_spans(text)]
    tags = [(start, end) for start, end, _ in _tag_spans(text)]
    return sorted([*find_urls(text), *mentions, *tags])


def post_languages(text: str) -> list[str]:
    """A rough ``langs`` value: ``["ja"]`` with kana or kanji, ``["en"]`` with Latin letters.

    Links, mentions and hashtags are left out first, so a Japanese post with an English URL is
    still Japanese; text with neither (only emoji) gets no language.
    """
    prose, at = [], 0
    for start, end in _entity_ranges(text):
        prose.append(text[at:start])
        at = max(at, end)
    prose.append(text[at:])
    words = " ".join(prose)
    if _KANA_OR_HAN.search(words):
        return ["ja"]
    return ["en"] if _LATIN.search(words) else []
