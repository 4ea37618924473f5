"""Status text as Mastodon treats it: counting, links, hashtags and the HTML ``content``.

Mastodon counts grapheme clusters and every http(s) URL as ``characters_reserved_per_url`` (23)
characters; it renders plain text as ``<p>`` paragraphs with ``<br />`` line breaks, links with
invisible/ellipsis spans, and hashtags as ``mention hashtag`` anchors. This module reproduces
that closely enough for a client to be written against it, and the rendering is reversible
(strip tags, turn ``</p><p>`` and ``<br />`` back into newlines, unescape) so tests can check
that text survives the round trip.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterator
from typing import Literal
from urllib.parse import quote

URL_LENGTH = 23

_URL_RE = re.compile(r"(?<![A-Za-z0-9@$#])https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+", re.I)
_URL_TRAILING = ".,:;!?'\""
_HASHTAG_RE = re.compile(r"(?<![\w/)])#(\w*[^\W\d_]\w*)")
_SENTENCE_RE = re.compile(r"[。！？.!?\n]+")
_JAPANESE_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
_SPACE_TAIL = re.compile(r"\s+")

Segment = tuple[Literal["text", "url", "tag"], str]


def _trim_url(url: str) -> str:
    """Drop trailing punctuation and unbalanced closing parentheses, as twitter-text does."""
    while url and (
        url[-1] in _URL_TRAILING or (url[-1] == ")" and url.count("(") < url.count(")"))
    ):
        url = url[:-1]
    return url


def segments(text: str) -> Iterator[Segment]:
    """Split ``text`` into plain text, URLs and hashtags (without the ``#``), in order."""
    pos = 0
    for match in _URL_RE.finditer(text):
        url = _trim_url(match.group(0))
        if len(url.split("://", 1)[1]) == 0:
            continue
        yield from _tags_in(text[pos : match.start()])
        yield ("url", url)
        pos = match.start() + len(url)
    yield from _tags_in(text[pos:])


def _tags_in(text: str) -> Iterator[Segment]:
    pos = 0
    for match in _HASHTAG_RE.finditer(text):
        if match.start() > pos:
            yield ("text", text[pos : match.start()])
        yield ("tag", match.group(1))
        pos = match.end()
    if pos < len(text):
        yield ("text", text[pos:])


def hashtags(text: str) -> list[str]:
    """Distinct hashtags, lower-cased, in order of first appearance."""
    seen: dict[str, None] = {}
    for kind, value in segments(text):
        if kind == "tag":
            seen.setdefault(value.lower(), None)
    return list(seen)


def _is_extender(char: str) -> bool:
    code = ord(char)
    return (
        unicodedata.combining(char) != 0
        or unicodedata.category(char) in ("Mn", "Me", "Mc")
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0xE0100 <= code <= 0xE01EF
        or 0x1F3FB <= code <= 0x1F3FF  # skin tones
        or 0xE0020 <= code <= 0xE007F  # emoji tag sequences
    )


def grapheme_length(text: str) -> int:
    """Approximate count of grapheme clusters (what a reader calls characters).

    Combining marks, variation selectors, skin tones, ZWJ sequences, regional-indicator pairs and
    CRLF count once. Python has no grapheme segmentation in the standard library; this covers
    what posts actually contain.
    """
    count = 0
    previous = ""
    joined = False
    regional_open = False
    for char in text:
        code = ord(char)
        if joined or (previous == "\r" and char == "\n") or (count and _is_extender(char)):
            joined = False
        elif char == "\u200d":
            joined = count > 0
        elif 0x1F1E6 <= code <= 0x1F1FF:
            if regional_open:
                regional_open = False
            else:
                regional_open = True
                count += 1
        else:
            count += 1
        if not (0x1F1E6 <= code <= 0x1F1FF):
            regional_open = False
        previous = char
    return count


def count_characters(text: str) -> int:
    """Length as Mastodon's validator counts it: every http(s) URL is 23 characters."""
    total = 0
    for kind, value in segments(text):
        if kind == "url":
            total += URL_LENGTH
        elif kind == "tag":
            total += 1 + grapheme_length(value)
        else:
            total += grapheme_length(value)
    return total


def is_blank(text: str) -> bool:
    """Ruby's ``blank?``: empty or only whitespace."""
    return text.strip() == ""


def average_sentence_length(text: str) -> tuple[float, bool]:
    """Mean sentence length, and whether it is in words (spaced script) or characters.

    A readability proxy: sentences split on ``。！？.!?`` and line breaks, after removing URLs and
    hashtags. Text with spaces between words is measured in words, other text in characters.
    """
    plain = " ".join(value for kind, value in segments(text) if kind == "text")
    sentences = [s.strip() for s in _SENTENCE_RE.split(plain) if s.strip()]
    if not sentences:
        return 0.0, False
    spaced = not _JAPANESE_RE.search(plain) and any(" " in s for s in sentences)
    if spaced:
        sizes = [len(_SPACE_TAIL.split(s)) for s in sentences]
    else:
        sizes = [grapheme_length(s) for s in sentences]
    return sum(sizes) / len(sizes), spaced


def guess_language(text: str) -> str:
    """``ja`` when the text has kana or kanji, otherwise ``en``."""
    return "ja" if _JAPANESE_RE.search(text) else "en"


def _text_html(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    escaped = html.escape(text, quote=True)
    return escaped.replace("\n\n", "</p><p>").replace("\n", "<br />")


def _link_html(url: str) -> str:
    scheme, _, rest = url.partition("://")
    prefix = scheme + "://"
    if rest.lower().startswith("www."):
        prefix, rest = prefix + rest[:4], rest[4:]
    if len(rest) > 30:
        shown = f'<span class="ellipsis">{html.escape(rest[:30])}</span>'
        hidden = html.escape(rest[30:])
    else:
        shown, hidden = f'<span class="">{html.escape(rest)}</span>', ""
    return (
        f'<a href="{html.escape(url)}" target="_blank" rel="nofollow noopener" translate="no">'
        f'<span class="invisible">{html.escape(prefix)}</span>{shown}'
        f'<span class="invisible">{hidden}</span></a>'
    )


def tag_url(base_url: str, tag: str) -> str:
    """The instance's page for a hashtag."""
    return f"{base_url}/tags/{quote(tag, safe='')}"


def render_content(text: str, base_url: str) -> str:
    """The status ``content`` HTML for ``text``, with links and hashtags made into anchors."""
    parts: list[str] = []
    for kind, value in segments(text):
        if kind == "url":
            parts.append(_link_html(value))
        elif kind == "tag":
            href = html.escape(tag_url(base_url, value))
            parts.append(
                f'<a href="{href}" class="mention hashtag" rel="tag">'
                f"#<span>{html.escape(value)}</span></a>"
            )
        else:
            parts.append(_text_html(value))
    return "<p>" + "".join(parts) + "</p>"
