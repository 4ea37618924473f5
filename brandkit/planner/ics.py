"""``brandkit calendar export``: the queue as an iCalendar file the owner's calendar app shows.

Written by hand rather than with a library: the subset needed — VEVENTs with UTC times, TEXT
escaping and line folding (RFC 5545 §3.1, §3.3.11) — is a few dozen lines, and none of the
iCalendar packages is already a dependency. Each variant is one event whose UID never changes,
so importing or subscribing again updates the events instead of duplicating them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from brandkit import __version__
from brandkit.db.models import Account, Post, Variant, Workspace

# what the calendar shows: everything that is or was on its way out (not drafts, not cancelled)
EXPORTED_STATES = ("scheduled", "publishing", "unconfirmed", "published", "failed", "missed")
MAX_OCTETS = 75  # per line, before the CRLF (RFC 5545 §3.1)
EVENT_MINUTES = 15  # a post has no length; a short event shows as a block in day views
SUMMARY_CHARS = 60


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    start: datetime  # UTC
    stamp: datetime  # UTC: when the variant last changed
    summary: str
    description: str
    url: str | None = None


def escape_text(value: str) -> str:
    """TEXT escaping: backslash, semicolon, comma, and newlines as ``\\n``."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold a content line into pieces of at most 75 octets, never inside a UTF-8 character."""
    if len(line.encode("utf-8")) <= MAX_OCTETS:
        return line
    pieces: list[str] = []
    current: list[str] = []
    size, limit = 0, MAX_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            pieces.append("".join(current))
            current, size, limit = [], 0, MAX_OCTETS - 1  # the leading space counts
        current.append(char)
        size += width
    pieces.append("".join(current))
    return "\r\n ".join(pieces)


def utc_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def render_calendar(events: Iterable[CalendarEvent], *, name: str, timezone: str) -> str:
    """A complete VCALENDAR, CRLF line endings, every line folded."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:-//brandkit//brandkit {__version__}//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
        f"X-WR-TIMEZONE:{timezone}",
    ]
    for event in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{event.uid}",
            f"DTSTAMP:{utc_stamp(event.stamp)}",
            f"LAST-MODIFIED:{utc_stamp(event.stamp)}",
            f"DTSTART:{utc_stamp(event.start)}",
            f"DURATION:PT{EVENT_MINUTES}M",
            f"SUMMARY:{escape_text(event.summary)}",
            f"DESCRIPTION:{escape_text(event.description)}",
        ]
        if event.url:
            lines.append(f"URL:{event.url}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)


def summary_for(account: str, state: str, text: str) -> str:
    """``dr-yamada: 【健康ワンポイント:睡眠】``; any state but scheduled is shown in brackets."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if len(first) > SUMMARY_CHARS:
        first = first[: SUMMARY_CHARS - 1] + "…"
    prefix = "" if state == "scheduled" else f"[{state}] "
    return f"{prefix}{account}: {first}"


def calendar_events(
    session: Session,
    workspace: Workspace,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    states: Sequence[str] = EXPORTED_STATES,
) -> list[CalendarEvent]:
    """One event per variant in ``states`` whose time is in ``[start, end)``, earliest first.

    The time is when it was published, else when it is (or was) due.
    """
    rows = session.exec(
        select(Variant, Account)
        .where(
            Variant.post_id == Post.id,
            Post.workspace_id == workspace.id,
            Variant.account_id == Account.id,
            col(Variant.state).in_(states),
        )
        .order_by(col(Variant.due_at), col(Variant.id))
    ).all()
    events = []
    for variant, account in rows:
        moment = variant.published_at or variant.due_at
        if (start and moment < start) or (end and moment >= end):
            continue
        events.append(
            CalendarEvent(
                uid=f"variant-{variant.id}-{variant.idempotency_key}@brandkit",
                start=moment,
                stamp=variant.updated_at,
                summary=summary_for(account.name, variant.state, variant.text),
                description=variant.text,
                url=variant.remote_url,
            )
        )
    return sorted(events, key=lambda e: e.start)
