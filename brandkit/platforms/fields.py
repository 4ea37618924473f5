"""Readers for the JSON a platform documents, raising :class:`Shape` when a field is not there.

Every connector parses answers the same way: a missing or mistyped field the documentation
promises is a :class:`Shape` error, which :meth:`brandkit.platforms.api.ApiSession.parse` turns
into the "answer was not what the API documents" error (``OutcomeUnknownError`` for a publish,
whose post most likely exists). Optional counters read as ``None`` rather than 0, because "the
platform did not say" and "nobody liked it" must stay different in the reports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from brandkit.platforms.http import parse_iso8601


class Shape(ValueError):
    """A field the platform's documentation promises is missing or has the wrong type."""


def mapping(value: object, what: str) -> Mapping[str, object]:
    """``value`` as a JSON object, or :class:`Shape` naming ``what`` it should have been."""
    if not isinstance(value, dict):
        raise Shape(f"{what} is not a JSON object")
    return value


def array(value: object, what: str) -> Sequence[object]:
    """``value`` as a JSON array, or :class:`Shape`."""
    if not isinstance(value, list):
        raise Shape(f"{what} is not a JSON array")
    return value


def string(obj: Mapping[str, object], key: str) -> str:
    """A required non-empty string field (ids are strings on every platform brandkit speaks)."""
    value = obj.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # some Graph API ids arrive as numbers in older answers
    if not isinstance(value, str) or not value:
        raise Shape(f"{key!r} is missing or not a string")
    return value


def opt_string(obj: Mapping[str, object], key: str) -> str | None:
    """An optional string field; anything but a non-empty string reads as ``None``."""
    value = obj.get(key)
    return value if isinstance(value, str) and value else None


def opt_int(obj: Mapping[str, object], key: str, *, from_string: bool = False) -> int | None:
    """An optional integer field, or ``None``.

    With ``from_string``, digits in a string count too, for platforms that document counts as
    strings (YouTube: ``"viewCount": "123"``); elsewhere a string is a shape error's business.
    """
    value = obj.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if from_string and isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def integer(obj: Mapping[str, object], key: str, *, from_string: bool = False) -> int:
    """A required integer field (see :func:`opt_int` for ``from_string``)."""
    value = opt_int(obj, key, from_string=from_string)
    if value is None:
        raise Shape(f"{key!r} is missing or not an integer")
    return value


def first_int(obj: Mapping[str, object], *keys: str) -> int | None:
    """The first of ``keys`` present as an integer: for fields a platform renamed.

    X renamed ``tweet_count``/``retweet_count`` to ``post_count``/``repost_count``; an answer
    may carry either spelling, so both are accepted, the newer one first.
    """
    for key in keys:
        value = opt_int(obj, key)
        if value is not None:
            return value
    return None


def timestamp(obj: Mapping[str, object], key: str) -> datetime:
    """A required ISO 8601 datetime, as aware UTC."""
    value = parse_iso8601(obj.get(key))
    if value is None:
        raise Shape(f"{key!r} is missing or not an ISO 8601 datetime")
    return value


def epoch(value: object) -> datetime | None:
    """Epoch seconds (number or numeric string) as aware UTC, or ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None
