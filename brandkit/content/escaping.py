"""LinkedIn's "little text": the escaping a post's text needs on its way out, never before.

The Posts API reads ``commentary`` as little text, in which ``\\ | { } @ [ ] ( ) < > # * _ ~``
are markup (mentions ``@[Name](urn:li:…)``, hashtag templates ``{hashtag|\\#|tag}``). LinkedIn's
documentation asks for every one of them to be backslash-escaped, used as markup or not; an
unescaped one is not an error but a silent cut: the post goes out ending just before it.

LinkedIn's 3,000-character limit applies to the text readers see, so brandkit measures the draft
as written (:func:`brandkit.content.length.measure`) and escapes only when publishing: the
backslashes and templates added here are not counted, and a draft is never stored escaped.

The inverse, :func:`unescape_little_text`, reads a post's ``commentary`` back as readers see it,
so reconciliation can compare a published post with the draft it came from.
"""

from __future__ import annotations

import re

from brandkit.content.length import find_hashtags

RESERVED = "\\|{}@[]()<>#*_~"
_RESERVED = re.compile(r"[\\|{}@\[\]()<>#*_~]")
_LITTLE_TEXT = re.compile(
    r"\\(?P<escaped>.)"
    r"|\{hashtag\|(?P<sign>\\#|#|＃)\|(?P<tag>(?:\\.|[^\\{}|])*)\}"
    r"|@\[(?P<name>(?:\\.|[^\\\]])*)\]\(urn:li:[^()\s]+\)",
    re.DOTALL,
)
_BACKSLASHED = re.compile(r"\\(.)", re.DOTALL)


def _escape(text: str) -> str:
    return _RESERVED.sub(r"\\\g<0>", text)


def escape_little_text(text: str, *, hashtags: bool = True) -> str:
    """``text`` as LinkedIn's ``commentary``: every reserved character backslash-escaped.

    With ``hashtags`` (the default) each hashtag, found the way the length rules find them (not
    inside a URL, not ``C#``), becomes LinkedIn's hashtag template ``{hashtag|\\#|健康}`` so it
    stays a clickable hashtag; otherwise its ``#`` is escaped like any other and shows as text.
    Links are escaped too, as the format asks: LinkedIn reads the unescaped text.
    """
    if not hashtags:
        return _escape(text)
    parts: list[str] = []
    at = 0
    for start, end in find_hashtags(text):
        sign = "\\#" if text[start] == "#" else text[start]  # "＃" is no markup character
        parts += [_escape(text[at:start]), "{hashtag|", sign, "|", _escape(text[start + 1 : end])]
        parts.append("}")
        at = end
    parts.append(_escape(text[at:]))
    return "".join(parts)


def unescape_little_text(text: str) -> str:
    """What readers see of a little-text ``commentary``: the inverse of ``escape_little_text``.

    ``\\#`` becomes ``#``, a hashtag template ``{hashtag|\\#|tag}`` becomes ``#tag`` and a
    mention ``@[Name](urn:li:…)`` becomes ``Name``, scanning left to right so an escaped brace
    is never taken for the start of a template.
    """

    def plain(match: re.Match[str]) -> str:
        if match.group("escaped") is not None:
            return match.group("escaped")
        if match.group("sign") is not None:
            sign = "＃" if match.group("sign") == "＃" else "#"
            return sign + _BACKSLASHED.sub(r"\1", match.group("tag"))
        return _BACKSLASHED.sub(r"\1", match.group("name"))

    return _LITTLE_TEXT.sub(plain, text)
