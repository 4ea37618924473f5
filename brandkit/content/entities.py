"""What counts as a link, a hashtag, an emoji and a grapheme in a post's text.

Length counting (:mod:`brandkit.content.length`) and thread splitting
(:mod:`brandkit.content.threads`) must agree on these: a URL the counter weighs as 23 characters
is one the splitter never cuts, and a hashtag counted against a platform's limit is one that still
tags after splitting. So they are found here, once, the way the platforms find them:

- **links** — as twitter-text's extractor finds them: a URL needs a known top-level domain (from
  the Public Suffix List that ``publicsuffixlist`` ships, so new TLDs arrive with its releases)
  and labels of at most 63 characters once punycode-encoded; bare domains (``clinic.example.jp``)
  count where the platform links them, i.e. everywhere but Mastodon (``without_protocol=False``).
- **hashtags** — as twitter-text finds them (``#健康``, ``#flu_shot``): not in a URL, not all
  digits, not right after a letter (``C#``).
- **emoji** — a whole emoji sequence (ZWJ partners, skin tone, flag, keycap, tag sequence) by
  current Unicode data, so a platform that weighs an emoji once weighs a family once.
- **graphemes** — extended grapheme clusters, the user-perceived characters Bluesky and Mastodon
  count.

Speed matters (the content benchmark checks thousands of drafts a second), so the costly Unicode
work (``regex``'s grapheme clusters and emoji properties, current Unicode) runs only where a plain
``re`` pre-filter found combining marks, joiners, flags, pictographs or astral characters.
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_right
from functools import cache, lru_cache

import regex
from publicsuffixlist import PublicSuffixList

__all__ = ["emoji_spans", "find_hashtags", "find_urls", "grapheme_count", "in_spans"]


def in_spans(at: int, spans: list[tuple[int, int]]) -> bool:
    """Whether ``at`` falls in one of the sorted, disjoint ``spans``."""
    i = bisect_right(spans, (at, sys.maxsize)) - 1
    return i >= 0 and at < spans[i][1]


# --- emoji and graphemes -----------------------------------------------------------------------

_GRAPHEME = regex.compile(r"\X")
_EMOJI_HINT = re.compile("[\u00a9\u00ae\u203c-\u2bff\u3030\u303d\u3297\u3299\U0001f000-\U0010ffff]")
# An emoji shown as an emoji: by default, with U+FE0F, or with a skin tone; then a tag sequence
# (🏴 England). Only such parts join by ZWJ, so stray joiners and selectors count on their own,
# as twitter-text counts them.
_SHOWN = (
    r"(?:\p{EPres}\p{EMod}?|\p{ExtPict}(?:\uFE0F|\p{EMod}))(?:[\U000E0020-\U000E007E]+\U000E007F)?"
)
_EMOJI = regex.compile(
    rf"\p{{RI}}\p{{RI}}|[#*0-9]\uFE0F?\u20E3|{_SHOWN}(?:\u200D{_SHOWN})*|\p{{ExtPict}}"
)


def emoji_spans(text: str) -> list[tuple[int, int]]:
    """Where the emoji sequences are: a pictograph with its presentation selector, skin tone and
    ZWJ partners, a flag, a keycap, a tag sequence (🏴 England).

    Unicode's ``Extended_Pictographic`` (current data from ``regex``) rather than twitter-text's
    emoji list frozen at Unicode 12, so newer emoji (🫠, ❤️‍🔥) count once too; stray joiners
    and selectors that belong to no sequence are left to count on their own, as twitter-text
    counts them.
    """
    spans: list[tuple[int, int]] = []
    done = 0
    for hint in _EMOJI_HINT.finditer(text):
        at = hint.start()
        if at < done:
            continue
        if text[at] == "\u20e3":  # a keycap starts at the digit, # or * before it
            at -= 2 if at >= 2 and text[at - 1] == "\ufe0f" else 1
            if at < done:
                continue
        if emoji := _EMOJI.match(text, at):
            done = emoji.end()
            spans.append((at, done))
    return spans


@cache
def _joiners() -> re.Pattern[str]:
    """Runs of characters that may join a neighbour into one grapheme cluster, as a plain ``re``
    class built once from ``regex``'s Unicode data (every astral character included: a superset
    is still correct, and ``re`` keeps a large BMP class as a fast bitmap)."""
    joiner = regex.compile(
        r"[\p{GCB=Extend}\p{GCB=ZWJ}\p{GCB=SpacingMark}\p{GCB=Prepend}\p{GCB=L}\p{GCB=V}"
        r"\p{GCB=T}\r]"
    )
    bmp = "".join(map(chr, range(0xD800))) + "".join(map(chr, range(0xE000, 0x10000)))
    runs: list[list[int]] = []
    for point in map(ord, joiner.findall(bmp)):
        if runs and runs[-1][1] == point - 1:
            runs[-1][1] = point
        else:
            runs.append([point, point])
    body = "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in runs)
    return re.compile(f"[{body}\U00010000-\U0010ffff]+")


def grapheme_count(text: str) -> int:
    """User-perceived characters (extended grapheme clusters), as Bluesky and Mastodon count.

    A code point can share a cluster only with a joiner next to it, so ``\\X`` runs on those
    windows alone and everything else counts one per code point.
    """
    if text.isascii():
        return len(text) - text.count("\r\n")
    count, start, end = len(text), 0, -1
    for run in _joiners().finditer(text):
        if run.start() - 1 > end:
            if end >= 0:
                count -= (end - start) - len(_GRAPHEME.findall(text, start, end))
            start = max(run.start() - 1, 0)
        end = min(run.end() + 1, len(text))
    if end >= 0:
        count -= (end - start) - len(_GRAPHEME.findall(text, start, end))
    return count


# --- links and hashtags ------------------------------------------------------------------------

# Character sets from twitter-text's regexp/ folder (punct, spacesGroup, invalidCharsGroup,
# directionalMarkersGroup, latinAccentChars, validGeneralUrlPathChars, validUrlQueryChars …).
_X = r"!'#%&()*+,\\/:;<=>?@\[\]^{|}~$\t-\r \x85\xa0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f" + (
    "\u205f\u3000\ufffe\ufeff\uffff\u202a-\u202e\u061c\u200e\u200f\u2066-\u2069"
)  # what cannot be in a domain, besides - _ and .
_DOT = re.compile(rf"\.(?=[^{_X}.\-_])")  # a dot with a label after it
_RUN = re.compile(rf"[^{_X}]*")  # domain characters, dots, hyphens and underscores
_SCHEME = re.compile(r"https?://\Z", re.IGNORECASE)
_LATIN = "\xc0-\xd6\xd8-\xf6\xf8-\u024f\u0253\u0254\u0256\u0257\u0259\u025b\u0263\u0268\u026f" + (
    "\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
_ASCII_LABELS = re.compile(rf"(?:[\-a-zA-Z0-9{_LATIN}]+\.)+")
_TLD = re.compile(r"xn--[\-0-9a-zA-Z]+|[a-zA-Z]+")
_P = rf"[a-zA-Z\u0400-\u04ff0-9!*';:=+,.$/%#\[\]\-\u2013_~@|&{_LATIN}]"  # path characters
_PARENS = rf"\((?:{_P}+|{_P}*\({_P}+\){_P}*)\)"
_PATH = (
    rf"(?:{_P}*(?:{_PARENS}{_P}*)*(?:[+\-a-zA-Z\u0400-\u04ff0-9=_#/{_LATIN}]|{_PARENS})|@{_P}+/)"
)
_TAIL = re.compile(
    rf"(?::[0-9]+)?(?P<path>/{_PATH}*)?(?:\?[a-zA-Z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]*[a-zA-Z0-9\-_&=#/])?"
)
_NOT_AFTER_TLD = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ@+-")


@cache
def _suffixes() -> PublicSuffixList:
    return PublicSuffixList(only_icann=True, accept_unknown=False)


@lru_cache(maxsize=4096)
def _is_tld(name: str) -> bool:
    return _suffixes().is_public(name)


def find_urls(text: str, *, without_protocol: bool = True) -> list[tuple[int, int]]:
    """Spans of the URLs a platform links, found as twitter-text's extractor finds them.

    Without ``http(s)://`` only the ASCII end of a domain links, and not after ``-_./``;
    Mastodon links only URLs with a protocol (``without_protocol=False``).
    """
    if "." not in text or not (without_protocol or "://" in text):
        return []
    spans: list[tuple[int, int]] = []
    at = floor = 0  # where to look for the next dot; where the last URL-like match ended
    backwards = text[::-1]  # the run before a dot is matched on the reversed text
    while dot := _DOT.search(text, at):
        before = _RUN.match(backwards, len(text) - dot.start())
        after = _RUN.match(text, dot.start())
        assert before is not None and after is not None  # ``*`` always matches
        start = max(dot.start() - len(before.group()), floor)
        found, stop = _url_in(text, start, after.end(), without_protocol, floor)
        spans += found
        at = max(stop or after.end(), dot.end())
        floor = at if stop else floor
    return spans


def _url_in(
    text: str, start: int, end: int, bare: bool, floor: int
) -> tuple[list[tuple[int, int]], int | None]:
    """The URLs whose domain starts in text[start:end] (a run of domain characters), and where
    twitter-text's pattern matched up to (``None``: it did not match; a match it then rejects
    still counts, for the next search begins there). Nothing may start at ``floor`` but the
    text's start, as the pattern consumes the character before a URL."""
    lowest = floor + 1 if floor else 0
    scheme = _SCHEME.search(text, max(start - 8, lowest), start)
    domain_end, at = None, max(start, lowest)
    while domain_end is None:
        begin = next(
            (i for i in range(at, end) if text[i] not in "-_." and _may_follow(text, i)), -1
        )
        if begin < 0:
            return [], None
        domain_end, at = _domain_end(text, begin, end)
    tail = _TAIL.match(text, domain_end)
    stop = tail.end() if tail else domain_end
    first = scheme.start() if scheme and begin == start else begin
    domain = text[begin:domain_end]
    if not _may_follow(text, first) or not _labels_fit(domain) or stop - first > 4088:
        return [], stop  # 4088: twitter-text's 4,096 less the protocol it adds to bare domains
    if domain.startswith("xn--") and not _ascii_domains(domain):
        return [], stop
    if first < begin:
        return [(first, stop)], stop
    if not bare or (begin and text[begin - 1] in "-_./"):
        return [], stop
    found = [(begin + a, begin + b) for a, b in _ascii_domains(domain)]
    if found and tail and tail.group("path"):
        found[-1] = (found[-1][0], stop)
    return found, stop


def _may_follow(text: str, at: int) -> bool:
    """twitter-text's validUrlPrecedingChars: no URL right after a letter, digit, @, $ or #."""
    char = text[at - 1] if at else " "
    return not (char.isascii() and char.isalnum()) and char not in "@＠$#＃\ufffe\ufeff\uffff"


def _domain_end(text: str, begin: int, end: int) -> tuple[int | None, int]:
    """End of the domain starting at ``begin``: after the last label that starts with a known
    top-level domain not running on into an ASCII letter, digit, ``@``, ``+`` or ``-``. Without
    one, ``None`` and where a later start could still succeed: after a malformed label."""
    labels = text[begin:end].split(".")
    retry = end
    for count, label in enumerate(labels, 1):
        if not label or label[0] in "-_" or label[-1] in "-_":
            labels = labels[:count]  # a malformed label may still start with a TLD (comまで)
            retry = begin + sum(len(label) + 1 for label in labels)
            break
    offset = begin + sum(len(label) + 1 for label in labels[:-1])
    for i in range(len(labels) - 1, 0, -1):
        previous = labels[i - 1]
        if previous and "_" not in previous and (size := _tld_size(text, offset, labels[i])):
            return offset + size, end
        offset -= len(previous) + 1
    return None, retry


def _tld_size(text: str, at: int, label: str) -> int:
    def ends_ok(size: int) -> bool:
        return at + size >= len(text) or text[at + size] not in _NOT_AFTER_TLD

    if ascii_tld := _TLD.match(label):
        size = ascii_tld.end()
        if not ends_ok(size):
            return 0
        return size if label[:4].lower() == "xn--" or _is_tld(label[:size]) else 0
    for size in range(min(len(label), 24), 0, -1):  # internationalised TLDs: みんな, 中国 …
        if not label[size - 1].isascii() and ends_ok(size) and _is_tld(label[:size]):
            return size
    return 0


def _labels_fit(domain: str) -> bool:
    """Every label is 1–63 characters once punycode-encoded (twitter-text's idna check)."""
    return all(
        0 < (len(label) if label.isascii() else 4 + len(label.encode("punycode"))) <= 63
        for label in domain.split(".")
    )


def _ascii_domains(domain: str) -> list[tuple[int, int]]:
    """The ASCII domains inside a bare domain, which are what links without a protocol:
    ``詳しくはclinic.jp`` links ``clinic.jp`` (twitter-text's validAsciiDomain)."""
    found: list[tuple[int, int]] = []
    at = 0
    while labels := _ASCII_LABELS.search(domain, at):
        at = labels.end()
        starts = [labels.start()]
        for label in labels.group().split(".")[:-2]:
            starts.append(starts[-1] + len(label) + 1)
        for tld_at in [labels.end(), *reversed(starts[1:])]:
            if size := _tld_size(domain, tld_at, domain[tld_at:].split(".", 1)[0]):
                found.append((labels.start(), tld_at + size))
                at = tld_at + size
                break
    return found


_HASHTAG_CHAR = r"\p{L}\p{M}\p{Nd}_\u200c\u200d\ua67e\u05be\u05f3\u05f4\uff5e\u301c\u309b\u309c" + (
    r"\u30a0\u30fb\u3003\u0f0b\u0f0c\u00b7"
)
_HASHTAG = regex.compile(
    rf"(?<![{_HASHTAG_CHAR}&])[#＃](?![\ufe0f\u20e3])(?=[{_HASHTAG_CHAR}]*?[\p{{L}}\p{{M}}])"
    rf"[{_HASHTAG_CHAR}]++(?![#＃]|://)"
)


def find_hashtags(text: str, urls: list[tuple[int, int]] | None = None) -> list[tuple[int, int]]:
    """Spans of the hashtags (``#健康``, ``#flu_shot``) as twitter-text finds them: not in a URL,
    not all digits, not right after a letter (``C#``)."""
    if "#" not in text and "＃" not in text:
        return []
    spans = [m.span() for m in _HASHTAG.finditer(text)]
    if spans and (urls := find_urls(text) if urls is None else urls):
        spans = [(s, e) for s, e in spans if not in_spans(s, urls)]
    return spans
