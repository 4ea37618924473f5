"""Jinja2 filters for post templates: locale-aware dates, hashtags, sentence-safe cutting."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

JA_WEEKDAYS = "月火水木金土日"
# a sentence with the spaces after it, so whole sentences rejoin exactly as written
SENTENCE = re.compile(r".*?(?:[。！？!?]+|\.(?=\s|$))\s*|.+$", re.S)


def format_date(value: date | datetime | str, locale: str = "ja") -> str:
    """``11月24日(火)`` in Japanese, ``Tue 24 Nov`` in English."""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if locale == "ja":
        return f"{value.month}月{value.day}日({JA_WEEKDAYS[value.weekday()]})"
    return f"{value:%a} {value.day} {value:%b}"


def hashtags(values: Iterable[str] | str) -> str:
    """``["花粉症", "allergy tips"]`` → ``#花粉症 #allergytips``."""
    items = [values] if isinstance(values, str) else list(values)
    tags = [re.sub(r"[\s#]+", "", str(v)) for v in items]
    return " ".join(f"#{t}" for t in tags if t)


def cut_sentences(text: str, limit: int) -> str:
    """The longest run of whole sentences that fits in ``limit`` characters."""
    if len(text) <= limit:
        return text
    kept = ""
    for sentence in SENTENCE.findall(text):
        if len(kept) + len(sentence) > limit:
            break
        kept += sentence
    return kept.rstrip() or text[: max(0, limit - 1)] + "…"


FILTERS: dict[str, Callable[..., Any]] = {
    "jdate": format_date,
    "hashtags": hashtags,
    "cut_sentences": cut_sentences,
}
