"""How long a post is, counted the way each platform counts it, and what else it may not exceed.

Counting the wrong way either blocks a post that would have gone out or lets through one that the
platform rejects at publish time, when nobody is watching. The rules and their sources:

- **x** — twitter-text v3 (``config/v3.json``): 280 weighted characters after NFC; code points in
  the light ranges (Latin, general punctuation) weigh 1, everything else (CJK) 2, an emoji
  sequence 2 once, every URL 23.
- **bluesky** — ``app.bsky.feed.post``: 300 graphemes and 3,000 UTF-8 bytes.
- **mastodon** — its StatusLengthValidator: 500 graphemes, each http(s) URL 23, ``@user@domain``
  counted as ``@user``; an instance may set its own ``max_characters`` and
  ``characters_reserved_per_url`` (:class:`InstanceLimits`).
- **threads** — Threads API: 500 characters, an emoji counting its UTF-8 bytes; at most 5 distinct
  links; only one hashtag becomes the post's topic tag (more are a warning, not an error).
- **instagram** — 2,200 characters; at most 5 hashtags (Instagram's limit since December 2025,
  down from 30).
- **facebook** — 63,206 characters. **linkedin** — Posts API ``commentary``: 3,000 characters of
  the text readers see; the little-text escaping added when publishing is not counted
  (:mod:`brandkit.content.escaping`).

What counts as a link, a hashtag, an emoji sequence or a grapheme is decided in
:mod:`brandkit.content.entities`, shared with thread splitting; this module weighs and limits.
Speed matters (the content benchmark checks thousands of drafts a second), so ASCII, the bulk of
most drafts, is weighed by encoding rather than character by character.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from functools import cache
from typing import Any, Literal

from brandkit.content.entities import (
    emoji_spans,
    find_hashtags,
    find_urls,
    grapheme_count,
    in_spans,
)
from brandkit.errors import UnknownPlatformError

__all__ = [
    # found in brandkit.content.entities; re-exported so existing imports keep working
    "emoji_spans",
    "find_hashtags",
    "find_urls",
    "grapheme_count",
    # this module's own
    "RULES",
    "TWITTER_TEXT_V3",
    "Counting",
    "InstanceLimits",
    "Measurement",
    "PlatformTextRules",
    "Problem",
    "ProblemCode",
    "Severity",
    "TwitterTextConfig",
    "TwitterTextResult",
    "fits",
    "mastodon_countable",
    "measure",
    "measure_post",
    "parse_tweet",
    "rules_for",
]

Counting = Literal["twitter-text", "graphemes", "mastodon", "threads", "characters"]
Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class PlatformTextRules:
    """What one platform allows in a post's text; ``None`` means no limit of that kind."""

    platform: str
    label: str  # the platform's name as users write it, for messages
    limit: int
    unit: str
    counting: Counting = "characters"
    max_bytes: int | None = None  # UTF-8 bytes
    max_links: int | None = None  # distinct links
    max_hashtags: int | None = None
    hashtag_severity: Severity = "error"  # "warning": extra hashtags stay as plain text
    url_length: int | None = None  # a URL counts as this many units, when set
    has_threads: bool = False


_R = PlatformTextRules
RULES: dict[str, PlatformTextRules] = {
    r.platform: r
    for r in (
        _R("x", "X", 280, "weighted characters", "twitter-text", url_length=23, has_threads=True),
        _R("bluesky", "Bluesky", 300, "graphemes", "graphemes", max_bytes=3000, has_threads=True),
        _R("mastodon", "Mastodon", 500, "graphemes", "mastodon", url_length=23, has_threads=True),
        _R("threads", "Threads", 500, "characters", "threads", max_links=5, has_threads=True),
        _R("instagram", "Instagram", 2200, "characters", max_hashtags=5),
        _R("facebook", "Facebook", 63206, "characters"),
        _R("linkedin", "LinkedIn", 3000, "characters"),
    )
}
# Threads links only the first hashtag (its topic tag); the others stay text: a warning.
RULES["threads"] = replace(RULES["threads"], max_hashtags=1, hashtag_severity="warning")


@dataclass(frozen=True, slots=True)
class InstanceLimits:
    """A server's own limits, as Mastodon reports them in ``configuration.statuses``."""

    max_characters: int | None = None
    characters_reserved_per_url: int | None = None


def rules_for(platform: str, *, instance: InstanceLimits | None = None) -> PlatformTextRules:
    """The rules for ``platform``. An unknown name raises :class:`UnknownPlatformError` (listing
    the known ones) rather than guessing a limit that may be higher than the real one."""
    if platform not in RULES:
        raise UnknownPlatformError(platform, list(RULES))
    rules = RULES[platform]
    if instance is None:
        return rules
    return replace(
        rules,
        limit=instance.max_characters or rules.limit,
        url_length=instance.characters_reserved_per_url or rules.url_length,
    )


# --- twitter-text ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TwitterTextConfig:
    """twitter-text's counting configuration; the defaults are the values of its v3.json."""

    max_weighted_length: int = 280
    scale: int = 100
    default_weight: int = 200
    transformed_url_length: int = 23
    ranges: tuple[tuple[int, int, int], ...] = (
        *((0, 4351, 100), (8192, 8205, 100), (8208, 8223, 100), (8242, 8247, 100)),
    )
    emoji_parsing: bool = True  # v3: an emoji sequence weighs default_weight once

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TwitterTextConfig:
        """Read the fields of a twitter-text configuration file (``maxWeightedTweetLength`` …)."""
        ranges = tuple((r["start"], r["end"], r["weight"]) for r in data["ranges"])
        return cls(
            data["maxWeightedTweetLength"],
            data["scale"],
            data["defaultWeight"],
            data["transformedURLLength"],
            ranges,
            bool(data.get("emojiParsingEnabled")),
        )


TWITTER_TEXT_V3 = TwitterTextConfig()


@dataclass(frozen=True, slots=True)
class TwitterTextResult:
    """twitter-text's ``parseTweet`` answer, less the UTF-16 ranges brandkit has no use for."""

    weighted_length: int
    valid: bool
    permillage: int


_INVALID_X = re.compile("[\ufffe\ufeff\uffff]")


def parse_tweet(text: str, config: TwitterTextConfig = TWITTER_TEXT_V3) -> TwitterTextResult:
    """Weigh ``text`` as twitter-text does: NFC, weight ranges, URLs fixed, emoji once."""
    text = _nfc(text)
    length = _weighted(text, find_urls(text), config)
    valid = _INVALID_X.search(text) is None and 0 < length <= config.max_weighted_length
    return TwitterTextResult(length, valid, length * 1000 // config.max_weighted_length)


def _nfc(text: str) -> str:
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def _weighted(text: str, urls: list[tuple[int, int]], config: TwitterTextConfig) -> int:
    """Weighted length: every code point by its range, then each URL and emoji sequence made up
    to its fixed weight (an emoji in a URL's domain belongs to the URL)."""
    scaled = _weigh(text, config)
    for start, end in urls:
        scaled += config.transformed_url_length * config.scale - _weigh(text[start:end], config)
    if config.emoji_parsing:
        for start, end in emoji_spans(text):
            if not in_spans(start, urls):
                scaled += config.default_weight - _weigh(text[start:end], config)
    return -(-scaled // config.scale)


@cache
def _weight_classes(config: TwitterTextConfig) -> list[tuple[re.Pattern[str], bool, int]]:
    """Per weight: a class of its characters, whether it also holds all of ASCII (then the class
    keeps only the rest, and ASCII is counted by encoding), and its difference from the default.
    """
    groups: dict[int, list[tuple[int, int]]] = {}
    for start, end, weight in config.ranges:
        groups.setdefault(weight, []).append((start, end))
    classes = []
    for weight, spans in groups.items():
        ascii_covered = sum(max(0, min(e, 127) - s + 1) for s, e in spans if s <= 127) == 128
        kept = [(max(s, 128), e) for s, e in spans if e >= 128] if ascii_covered else spans
        body = "".join(f"{re.escape(chr(s))}-{re.escape(chr(e))}" for s, e in kept)
        classes.append((re.compile(f"[{body}]" if body else "(?!)"), ascii_covered, weight))
    return [
        (chars, ascii_covered, w - config.default_weight) for chars, ascii_covered, w in classes
    ]


@cache
def _ascii_weight(config: TwitterTextConfig) -> int | None:
    """The weight every ASCII character has, if they all have the same one."""
    weights = {next((w for s, e, w in config.ranges if s <= c <= e), None) for c in range(128)}
    return (weights.pop() or config.default_weight) if len(weights) == 1 else None


def _weigh(text: str, config: TwitterTextConfig) -> int:
    """Scaled weight, code point by code point; ASCII is counted in C by encoding, so only the
    (few) other characters of a weight class are matched one by one."""
    total = config.default_weight * len(text)
    if text.isascii() and (ascii_weight := _ascii_weight(config)) is not None:
        return ascii_weight * len(text)  # URLs, mostly
    for chars, ascii_covered, delta in _weight_classes(config):
        count = len(chars.findall(text))
        if ascii_covered:
            count += len(text) if text.isascii() else len(text.encode("ascii", "ignore"))
        total += delta * count
    return total


# --- Mastodon ----------------------------------------------------------------------------------

_MENTION = re.compile(r"(?<![=/\w])@([a-zA-Z0-9_]+(?:[.-]+[a-zA-Z0-9_]+)*)(?:@\w+(?:[.-]+\w+)*)?")


def mastodon_countable(
    text: str, url_length: int = 23, urls: list[tuple[int, int]] | None = None
) -> str:
    """The text Mastodon measures (its ``countable_text``): each http(s) URL as ``url_length``
    characters and each ``@user@domain`` mention as ``@user``; the earlier of overlapping wins."""
    urls = find_urls(text, without_protocol=False) if urls is None else urls
    entities = [(s, e, "x" * url_length) for s, e in urls]
    if "@" in text:
        entities = sorted(
            entities + [(m.start(), m.end(), "@" + m[1]) for m in _MENTION.finditer(text)]
        )
    parts, at = [], 0
    for start, end, replacement in entities:
        if start >= at:
            parts += [text[at:start], replacement]
            at = end
    return "".join(parts) + text[at:]


# --- measuring ---------------------------------------------------------------------------------

ProblemCode = Literal[
    "too_long", "too_many_bytes", "too_many_links", "too_many_hashtags", "invalid_characters"
]


@dataclass(frozen=True, slots=True)
class Problem:
    """One rule the text breaks; ``over`` says by how much, in that rule's own unit."""

    code: ProblemCode
    over: int
    limit: int
    message: str
    severity: Severity = "error"


@dataclass(frozen=True, slots=True)
class Measurement:
    """A text measured for one platform: its length and counts, and every rule it breaks."""

    platform: str
    unit: str
    length: int
    limit: int
    links: int
    hashtags: int
    utf8_bytes: int | None = None  # only where the platform limits bytes
    max_bytes: int | None = None
    problems: tuple[Problem, ...] = ()

    @property
    def fits(self) -> bool:
        """Nothing would make the platform reject the text (warnings are allowed)."""
        return all(p.severity != "error" for p in self.problems)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "fits": self.fits}


def _count(text: str, rules: PlatformTextRules, urls: list[tuple[int, int]] | None = None) -> int:
    """Length in the platform's unit; ``urls`` saves finding them again (X: on NFC text)."""
    if rules.counting == "twitter-text":
        config = TWITTER_TEXT_V3
        if rules.url_length and rules.url_length != config.transformed_url_length:
            config = replace(config, transformed_url_length=rules.url_length)
        nfc = _nfc(text)
        return _weighted(nfc, find_urls(nfc) if urls is None or nfc is not text else urls, config)
    if rules.counting == "graphemes":
        return grapheme_count(text)
    if rules.counting == "mastodon":
        return grapheme_count(mastodon_countable(text, rules.url_length or 23, urls))
    if rules.counting == "threads":  # "Emojis are counted as the number of UTF-8 bytes."
        return len(text) + sum(len(text[s:e].encode()) - (e - s) for s, e in emoji_spans(text))
    return len(text)


def measure(text: str, platform: str, *, instance: InstanceLimits | None = None) -> int:
    """The post's length in the platform's own unit (compare with ``rules_for(...).limit``)."""
    return _count(text, rules_for(platform, instance=instance))


def fits(text: str, platform: str, *, instance: InstanceLimits | None = None) -> bool:
    """Whether the text is within the platform's length and byte limits (links and hashtags are
    not looked at): the cheap test :func:`brandkit.content.threads.split_into_thread` repeats."""
    rules = rules_for(platform, instance=instance)
    if rules.max_bytes is not None and len(text.encode()) > rules.max_bytes:
        return False
    return _count(text, rules) <= rules.limit


_KINDS = {"too_many_bytes": "bytes", "too_many_links": "links", "too_many_hashtags": "hashtags"}
_JA = {
    "bytes": ("バイト数", "バイト"),
    "links": ("リンク", "件"),
    "hashtags": ("ハッシュタグ", "個"),
}


def _message(code: ProblemCode, label: str, over: int, limit: int, ja: bool, extra: str) -> str:
    """What is wrong, in the user's language: which limit, and by how much."""
    owner = label + ("'" if label.endswith("s") else "'s")
    if code == "too_long":
        return (
            f"{label} の上限 {limit} を {over} 超えています"
            if ja
            else (f"{over} over {owner} limit of {limit}")
        )
    if code == "invalid_characters":
        return (
            f"{label} が受け付けない文字 {extra} を削除してください"
            if ja
            else (f"{label} rejects the character {extra}; remove it")
        )
    kind = _KINDS[code]
    if ja:
        what, unit = _JA[kind]
        return f"{label} の{what}の上限 {limit}{unit} を {over}{unit} 超えています{extra}"
    noun = "UTF-8 bytes" if kind == "bytes" else kind
    return f"{over} {noun} over {owner} limit of {limit} {noun}{extra}"


def measure_post(
    text: str, platform: str, *, lang: str = "en", instance: InstanceLimits | None = None
) -> Measurement:
    """Measure ``text`` for ``platform``: length, links, hashtags, bytes, and each rule broken.

    Messages are Japanese when ``lang`` starts with ``ja``, English otherwise. An empty text is
    not reported here: :func:`brandkit.content.check` reports emptiness once for every platform.
    """
    rules = rules_for(platform, instance=instance)
    ja = lang.lower().startswith("ja")
    urls = find_urls(text, without_protocol=rules.counting != "mastodon")
    tags = find_hashtags(text, urls)
    length = _count(text, rules, urls)
    size = len(text.encode()) if rules.max_bytes is not None else None
    distinct = len({text[s:e] for s, e in urls})
    problems: list[Problem] = []

    def check(
        code: ProblemCode,
        value: int,
        limit: int | None,
        severity: Severity = "error",
        extra: str = "",
    ) -> None:
        if limit is not None and value > limit:
            message = _message(code, rules.label, value - limit, limit, ja, extra)
            problems.append(Problem(code, value - limit, limit, message, severity))

    check("too_long", length, rules.limit)
    check("too_many_bytes", size or 0, rules.max_bytes)
    check("too_many_links", distinct, rules.max_links)
    note = (
        ""
        if rules.hashtag_severity == "error"
        else ("（最初の 1 つだけがタグになります）" if ja else "; only the first becomes a tag")
    )
    check("too_many_hashtags", len(tags), rules.max_hashtags, rules.hashtag_severity, note)
    if rules.counting == "twitter-text" and (bad := _INVALID_X.search(text)):
        check("invalid_characters", len(_INVALID_X.findall(text)), 0, extra=f"U+{ord(bad[0]):04X}")
    return Measurement(
        platform,
        rules.unit,
        length,
        rules.limit,
        len(urls),
        len(tags),
        size,
        rules.max_bytes,
        tuple(problems),
    )
