"""Splitting a draft too long for one post into a numbered thread.

Where a draft is cut, in order of preference: after a sentence (``。！？`` as well as ``. ! ?``,
closing brackets and quotes included) or a line break; inside a sentence longer than a whole
post, after a clause (``、，,;：`` or a space); and only as a last resort between two graphemes.
Never inside a link, a hashtag or a mention, so every part still links and tags what the draft
did. Whitespace at a cut is dropped; nothing else is added or lost.

Each part carries its number, and fits the platform's limit with it (the widest number is
reserved while splitting, so the final numbers always fit):

- Japanese: at the end, in full-width brackets and without a space, as Japanese posts usually
  number a series: ``…ご予約ください。（1/3）``.
- English and other languages: at the start, ``1/3 …``, so a reader sees at once that more
  follows, the usual way on English-speaking timelines.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable

import regex

from brandkit.content.entities import find_hashtags, find_urls
from brandkit.content.length import InstanceLimits, fits, measure, rules_for
from brandkit.errors import InvalidInputError

_SENTENCE_END = re.compile(r"(?:[。！？!?‼⁉…]+|\.+(?=\s|$))[」』）)\]】〕\"'’”]*\s*|\n\s*")
_CLAUSE_END = re.compile(r"[、，；：]\s*|[,;:](?=\s)\s*|\s+")  # not inside 1,000 or 10:30
_MENTION = re.compile(r"@[\w.-]+(?:@[\w.-]*\w)?")
_GRAPHEME = regex.compile(r"\X")


def number_part(part: str, index: int, total: int, lang: str) -> str:
    """``part`` with its place in the thread, in the convention of ``lang`` (see above)."""
    if lang.lower().startswith("ja"):
        return f"{part}（{index}/{total}）"
    return f"{index}/{total} {part}"


def split_into_thread(
    text: str, platform: str, *, lang: str, instance: InstanceLimits | None = None
) -> list[str]:
    """``text`` as posts that each fit ``platform``, numbered; a text that fits is one post,
    unnumbered, and a blank one is none.

    Raises :class:`InvalidInputError` when the text needs splitting but the platform has no
    threads (Instagram, Facebook, LinkedIn), or when a link or hashtag alone is too long for a
    post.
    """
    if not text.strip():
        return []
    if fits(text, platform, instance=instance):
        return [text]
    rules = rules_for(platform, instance=instance)
    if not rules.has_threads:
        length = measure(text, platform, instance=instance)
        if lang.lower().startswith("ja"):
            message = f"{rules.label} はスレッド投稿ができません（{length} / 上限 {rules.limit}）"
            hint = f"{rules.limit} 以内に短くしてください"
        else:
            message = f"{rules.label} has no threads, and the draft is {length} of {rules.limit}"
            hint = f"shorten it to {rules.limit} {rules.unit}"
        raise InvalidInputError(message, hint=hint)
    cuts = _CutPoints(text)
    widest = 9
    while True:  # reserve room for the widest number; more parts than it allows: widen, again

        def fits_numbered(body: str, widest: int = widest) -> bool:
            return fits(number_part(body, widest, widest, lang), platform, instance=instance)

        parts = _pack(text, cuts, fits_numbered, lang)
        if len(parts) <= widest:
            break
        widest = widest * 10 + 9
    if len(parts) == 1:
        return parts
    return [number_part(part, i, len(parts), lang) for i, part in enumerate(parts, 1)]


class _CutPoints:
    """Where ``text`` may be cut, by preference: sentences, clauses, graphemes. Positions inside
    a link, hashtag or mention are never offered; the end of the text always is."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.protected = sorted(
            find_urls(text) + find_hashtags(text) + [m.span() for m in _MENTION.finditer(text)]
        )
        self.sentences = self._allowed(m.end() for m in _SENTENCE_END.finditer(text))
        self.clauses = sorted(
            set(self.sentences) | set(self._allowed(m.end() for m in _CLAUSE_END.finditer(text)))
        )
        self._graphemes: list[int] | None = None

    def _allowed(self, positions: Iterable[int]) -> list[int]:
        spans = self.protected
        allowed = {len(self.text)}
        for at in positions:
            i = bisect_right(spans, (at, len(self.text) + 1)) - 1
            if i < 0 or not spans[i][0] < at < spans[i][1]:
                allowed.add(at)
        return sorted(allowed)

    def levels(self) -> list[list[int]]:
        if self._graphemes is None:
            self._graphemes = self._allowed(m.end() for m in _GRAPHEME.finditer(self.text))
        return [self.sentences, self.clauses, self._graphemes]


def _pack(text: str, cuts: _CutPoints, fits_body: Callable[[str], bool], lang: str) -> list[str]:
    """Greedy: each part runs to the farthest cut of the most preferred kind that still fits."""
    parts: list[str] = []
    start = len(text) - len(text.lstrip())
    while start < len(text):
        end = _farthest(text, start, cuts, fits_body)
        if end is None:
            ja = lang.lower().startswith("ja")
            snippet = text[start : start + 40]
            raise InvalidInputError(
                f"「{snippet}…」は 1 件の投稿に収まりません"
                if ja
                else f"{snippet!r}… cannot fit in one post, even alone",
                hint="長いリンクやハッシュタグを短くしてください"
                if ja
                else "shorten the link or hashtag there",
            )
        parts.append(text[start:end].strip())
        start = end + len(text[end:]) - len(text[end:].lstrip())
    return parts


def _farthest(
    text: str, start: int, cuts: _CutPoints, fits_body: Callable[[str], bool]
) -> int | None:
    for level in (cuts.sentences, cuts.clauses, None):
        candidates = level if level is not None else cuts.levels()[2]
        lo = bisect_right(candidates, start)
        hi = len(candidates) - 1
        best = None
        while lo <= hi:  # the length only grows with the cut, so search for the last that fits
            mid = (lo + hi) // 2
            if fits_body(text[start : candidates[mid]].strip()):
                best, lo = candidates[mid], mid + 1
            else:
                hi = mid - 1
        if best is not None:
            return best
    return None
