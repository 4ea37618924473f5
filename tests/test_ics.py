"""The iCalendar export, read back by a tiny RFC 5545 parser: folding, escaping, stable UIDs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import select

from brandkit.db.engine import session_scope
from brandkit.db.models import Variant, Workspace
from brandkit.planner.ics import calendar_events, escape_text, fold, render_calendar
from tests.factories import make_account, make_variant, make_workspace

T = datetime(2026, 12, 1, 3, 30, tzinfo=UTC)
LONG = "【健康ワンポイント:睡眠】" + "寝る1時間前にはスマートフォンを置きましょう。" * 4


def unfold(text: str) -> list[str]:
    """Content lines, checking what a strict reader checks: CRLF, at most 75 octets a line."""
    assert text.endswith("\r\n")
    physical = text[:-2].split("\r\n")
    lines: list[str] = []
    for line in physical:
        assert "\n" not in line and "\r" not in line
        assert len(line.encode("utf-8")) <= 75, line
        if line.startswith(" "):
            lines[-1] += line[1:]
        else:
            lines.append(line)
    return lines


def unescape(value: str) -> str:
    """TEXT unescaping; a bare comma or semicolon would be a list separator, so it fails here."""
    out, chars = [], iter(value)
    for char in chars:
        if char == "\\":
            escaped = next(chars)
            assert escaped in "\\;,nN", escaped
            out.append("\n" if escaped in "nN" else escaped)
        else:
            assert char not in ",;", value
            out.append(char)
    return "".join(out)


def parse(text: str) -> list[dict[str, str]]:
    events: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    lines = unfold(text)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    for line in lines:
        name, _, value = line.partition(":")
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            assert current is not None
            events.append(current)
            current = None
        elif current is not None:
            current[name] = unescape(value) if name in ("SUMMARY", "DESCRIPTION") else value
    return events


@given(st.text())
def test_escaping_and_folding_round_trip_any_text(text: str) -> None:
    line = "DESCRIPTION:" + escape_text(text)
    folded = fold(line) + "\r\n"
    (back,) = unfold(folded)
    expected = text.replace("\r\n", "\n").replace("\r", "\n")
    assert unescape(back.removeprefix("DESCRIPTION:")) == expected


def test_folding_never_splits_a_character() -> None:
    line = "SUMMARY:" + "あ" * 40  # 8 + 120 octets
    pieces = fold(line).split("\r\n")
    assert [len(p.encode()) for p in pieces] == [8 + 22 * 3, 1 + 18 * 3]  # 77 would be too long
    assert "".join(p.removeprefix(" ") for p in pieces) == line


def seed(engine: Engine) -> dict[str, int]:
    workspace_id = make_workspace(engine, name="さくら内科, 本院; 東京\\")
    account = make_account(engine, workspace_id)
    ids = {
        "scheduled": make_variant(
            engine,
            workspace_id,
            account,
            state="scheduled",
            due_at=T,
            text="お知らせ, 1; 2\\3\n本文",
        ),
        "published": make_variant(
            engine,
            workspace_id,
            account,
            state="published",
            due_at=T - timedelta(days=1),
            text=LONG,
        ),
        "missed": make_variant(
            engine, workspace_id, account, state="missed", due_at=T + timedelta(days=1)
        ),
        "draft": make_variant(engine, workspace_id, account, state="draft", due_at=T),
        "cancelled": make_variant(engine, workspace_id, account, state="cancelled", due_at=T),
    }
    with session_scope(engine) as session:
        published = session.get(Variant, ids["published"])
        assert published is not None
        published.published_at = T - timedelta(days=1) + timedelta(seconds=42)
        published.remote_url = "https://mastodon.example/@dr/1"
    return ids


def export(engine: Engine, **kwargs: datetime) -> str:
    with session_scope(engine) as session:
        workspace = session.exec(select(Workspace)).one()
        events = calendar_events(session, workspace, **kwargs)
        return render_calendar(events, name=workspace.name, timezone=workspace.timezone)


def test_export_reads_back(engine: Engine) -> None:
    ids = seed(engine)
    text = export(engine)
    assert "X-WR-CALNAME:さくら内科\\, 本院\\; 東京\\\\\r\n" in text
    events = parse(text)
    assert [e["UID"].split("-")[1] for e in events] == [
        str(ids["published"]),
        str(ids["scheduled"]),
        str(ids["missed"]),
    ]  # drafts and cancelled posts are not on the calendar
    published, scheduled, missed = events
    assert scheduled["DTSTART"] == "20261201T033000Z" and scheduled["DURATION"] == "PT15M"
    assert scheduled["SUMMARY"] == "dr-yamada: お知らせ, 1; 2\\3"
    assert scheduled["DESCRIPTION"] == "お知らせ, 1; 2\\3\n本文"
    assert published["DTSTART"] == "20261130T033042Z"  # when it actually went out
    assert published["SUMMARY"].startswith("[published] dr-yamada: 【健康ワンポイント:睡眠】")
    assert published["SUMMARY"].endswith("…") and published["DESCRIPTION"] == LONG
    assert published["URL"] == "https://mastodon.example/@dr/1"
    assert missed["SUMMARY"].startswith("[missed] dr-yamada: ")
    assert all(e["DTSTAMP"].endswith("Z") for e in events)
    assert parse(export(engine)) == events  # the same UIDs (and everything else) every time


def test_export_window(engine: Engine) -> None:
    seed(engine)
    only_t = parse(export(engine, start=T, end=T + timedelta(hours=1)))
    assert [e["DTSTART"] for e in only_t] == ["20261201T033000Z"]
    assert parse(export(engine, start=T + timedelta(days=2))) == []
