"""Reports: numbers computed in SQL on both backends, and the renderers built on them.

The dataset is small enough to compute by hand. Two accounts of a clinic in Asia/Tokyo grow
linearly for three weeks (masto +10 a day from 1000, bsky +5 a day from 500); eleven posts are
published with known counters; one variant failed, one was missed, one is unconfirmed. A second
workspace holds rows that must never show up.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from brandkit.db.engine import session_scope
from brandkit.db.models import Account, AccountSnapshot, Post, PostMetrics, Variant, Workspace
from brandkit.errors import InvalidInputError, NotFoundError
from brandkit.reports import (
    Report,
    build_report,
    render_html,
    render_plain,
    render_text,
    report_to_dict,
)
from brandkit.reports.labels import EN, JA, STATES, WEEKDAYS, labels_for
from brandkit.reports.localtime import offset_changes
from brandkit.reports.model import PostStat

TOKYO = ZoneInfo("Asia/Tokyo")
START = datetime(2026, 11, 9, tzinfo=TOKYO)  # Monday; 2026-11-08T15:00Z
END = datetime(2026, 11, 30, tzinfo=TOKYO)  # Monday, excluded: three ISO weeks
LATER = datetime(2026, 12, 15, tzinfo=TOKYO)  # "now" for goals: the period is over
XSS = "<script>alert('x')</script>"
T = TypeVar("T")


def jst(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TOKYO)


@dataclass
class Seeded:
    workspace_id: int
    accounts: dict[str, int] = field(default_factory=dict)
    variants: dict[str, int] = field(default_factory=dict)


class Builder:
    """Adds rows with the few fields a report reads; everything else keeps its default."""

    def __init__(self, session: Session, seeded: Seeded) -> None:
        self.session = session
        self.seeded = seeded

    def add(self, row: T) -> T:
        self.session.add(row)
        self.session.flush()
        return row

    def account(self, name: str, platform: str, workspace_id: int, **extra: Any) -> None:
        account = Account(
            workspace_id=workspace_id,
            name=name,
            platform=platform,
            base_url="https://example.invalid",
            credentials_encrypted=b"-",
            **extra,
        )
        self.seeded.accounts[name] = _id(self.add(account))

    def snapshot(self, account: str, at: datetime, followers: int) -> None:
        account_id = self.seeded.accounts[account]
        self.add(AccountSnapshot(account_id=account_id, taken_at=at, followers=followers))

    def variant(
        self,
        label: str,
        account: str,
        template: str | None,
        due: datetime,
        state: str = "published",
        *,
        text: str = "",
        counters: dict[str, int | None] | None = None,
        post_id: int | None = None,
        workspace_id: int | None = None,
        last_error: str | None = None,
    ) -> int:
        """A variant (and its own post unless ``post_id``); published ones get a link."""
        if post_id is None:
            workspace = workspace_id or self.seeded.workspace_id
            post = Post(workspace_id=workspace, template_name=template, scheduled_at=due)
            post_id = _id(self.add(post))
        published = state == "published"
        variant = Variant(
            post_id=post_id,
            account_id=self.seeded.accounts[account],
            text=text or f"{label} {template}",
            state=state,
            due_at=due,
            published_at=due if published else None,
            remote_url=f"https://social.example/@clinic/{label}" if published else None,
            last_error=last_error,
        )
        variant_id = self.seeded.variants[label] = _id(self.add(variant))
        if counters is not None:  # read at the period's last sync, like a real sync would
            taken_at = max(due + timedelta(hours=1), jst(29, 21))
            self.add(PostMetrics(variant_id=variant_id, taken_at=taken_at, **counters))
        return post_id


def _id(row: Account | Post | Variant) -> int:
    assert row.id is not None
    return row.id


def likes(
    n: int,
    reposts: int | None = 0,
    replies: int | None = 0,
    quotes: int | None = 0,
    bookmarks: int | None = 0,
    impressions: int | None = None,
) -> dict[str, int | None]:
    """Counters for one PostMetrics row; ``None`` is "the platform does not report it"."""
    return {
        "likes": n,
        "reposts": reposts,
        "replies": replies,
        "quotes": quotes,
        "bookmarks": bookmarks,
        "impressions": impressions,
    }


def seed(engine: Engine) -> Seeded:
    with session_scope(engine) as session:
        workspace = Workspace(name="さくら内科クリニック", timezone="Asia/Tokyo", locale="ja")
        other = Workspace(name="Other clinic", timezone="Asia/Tokyo", locale="en")
        session.add_all([workspace, other])
        session.flush()
        assert workspace.id is not None and other.id is not None
        seeded = Seeded(workspace.id)
        b = Builder(session, seeded)
        b.account("masto", "mastodon", workspace.id)
        b.account(
            "bsky", "bluesky", workspace.id, status="needs_reauth", last_error="token expired"
        )
        b.account("elsewhere", "mastodon", other.id)
        _seed_snapshots(b)
        _seed_posts(b)
        _seed_problems(b, other.id)
    return seeded


def _seed_snapshots(b: Builder) -> None:
    b.snapshot("masto", jst(8, 12), 1000)  # baseline before the period
    b.snapshot("bsky", jst(8, 12), 500)
    b.snapshot("masto", jst(9, 8), 1003)  # 2026-11-08T23:00Z: a UTC Sunday, a local Monday
    for d in range(21):  # every evening 21:00 JST, Nov 9 … Nov 29
        b.snapshot("masto", jst(9 + d, 21), 1000 + 10 * (d + 1))
        b.snapshot("bsky", jst(9 + d, 21), 500 + 5 * (d + 1))
    b.snapshot("masto", jst(30, 12), 9999)  # after the period
    b.snapshot("elsewhere", jst(15, 12), 7777)  # another workspace


def _seed_posts(b: Builder) -> None:
    # P1 and P2 are one post on both accounts. P1's followers: the 08:00 snapshot (1003).
    shared = b.variant(
        "P1",
        "masto",
        "ja/health_tip",
        jst(9, 12),
        counters=likes(20, reposts=5, replies=3, quotes=None, bookmarks=2, impressions=1000),
    )
    # an older, smaller reading of P1 that must be ignored in favour of the latest
    b.add(PostMetrics(variant_id=b.seeded.variants["P1"], taken_at=jst(9, 13), likes=1))
    b.variant(
        "P2", "bsky", "ja/health_tip", jst(9, 12), counters=likes(10, reposts=2), post_id=shared
    )
    b.variant("P3", "masto", "ja/clinic_news", jst(11, 19), counters=likes(5), text=XSS)
    b.variant("P4", "masto", "ja/health_tip", jst(13, 12), counters=likes(30, 10, 5, 0, 5))
    b.variant("P5", "masto", "ja/qa", jst(14, 20), counters=likes(8))
    b.variant("P6", "masto", "ja/clinic_news", jst(16, 12), counters=likes(6))
    b.variant("P7", "masto", "ja/health_tip", jst(18, 12), counters=likes(40, reposts=10))
    b.variant("P8", "bsky", "ja/qa", jst(19, 19), counters=likes(4))
    # 2026-11-23T15:30Z is Tuesday 00:30 in Tokyo (Monday in UTC)
    b.variant("P9", "masto", "ja/health_tip", jst(24, 0, 30), counters=likes(70, 20, 10))
    b.variant("P10", "masto", "ja/qa", jst(26, 12))  # no metrics yet
    none = dict.fromkeys(("likes", "reposts", "replies", "quotes", "bookmarks"))
    b.variant("P11", "bsky", "ja/clinic_news", jst(27, 12), counters={**none, "impressions": 300})


def _seed_problems(b: Builder, other_workspace: int) -> None:
    b.variant("F1", "masto", "ja/qa", jst(17, 12), "failed", last_error="422 text too long")
    b.variant("D1", "bsky", "ja/qa", jst(23, 8), "draft")  # Sunday 23:00Z: local week of Nov 23
    b.variant("C1", "masto", "ja/qa", jst(25, 12), "cancelled")
    b.variant("M1", "bsky", "ja/qa", jst(28, 9), "missed", last_error="worker was not running")
    b.variant("U1", "masto", "ja/qa", jst(29, 23, 30), "unconfirmed", last_error="timeout")
    b.variant("S1", "masto", "ja/qa", jst(1, 12, month=12), "scheduled")  # after the period
    b.variant("F0", "masto", "ja/qa", jst(5, 12), "failed", last_error="before the period")
    b.variant(
        "X1", "elsewhere", "en/tip", jst(12, 12), counters=likes(999), workspace_id=other_workspace
    )
    b.variant("X2", "elsewhere", "en/tip", jst(13, 12), "failed", workspace_id=other_workspace)


@pytest.fixture
def seeded(engine: Engine) -> Seeded:
    return seed(engine)


@pytest.fixture
def report(engine: Engine, seeded: Seeded) -> Report:
    return build_report(engine, seeded.workspace_id, start=START, end=END, now=LATER)


def post(report: Report, seeded: Seeded, label: str) -> PostStat:
    (found,) = [p for p in report.posts if p.variant_id == seeded.variants[label]]
    return found


# --- numbers ---------------------------------------------------------------------------------


def test_summary_growth(report: Report) -> None:
    s = report.summary
    assert (s.start_followers, s.end_followers) == (1500, 1815)  # 9999 and 7777 are not counted
    assert s.net_growth == 315
    assert s.growth_rate == pytest.approx(0.21)
    assert s.posts_published == 11
    assert report.workspace_name == "さくら内科クリニック"
    assert (report.first_day, report.last_day) == (date(2026, 11, 9), date(2026, 11, 29))


def test_accounts_growth(report: Report) -> None:
    by_name = {a.name: a for a in report.accounts}
    assert set(by_name) == {"masto", "bsky"}
    masto, bsky = by_name["masto"], by_name["bsky"]
    assert (masto.start_followers, masto.end_followers, masto.net_growth) == (1000, 1210, 210)
    assert (bsky.start_followers, bsky.end_followers, bsky.net_growth) == (500, 605, 105)
    assert masto.growth_rate == pytest.approx(0.21)
    assert (masto.posts, bsky.posts) == (8, 3)


def test_daily_followers_take_the_last_snapshot_of_each_local_day(
    report: Report, seeded: Seeded
) -> None:
    daily = report.followers_over_time
    assert len(daily) == 21
    assert daily[0].day == date(2026, 11, 9)
    masto, bsky = seeded.accounts["masto"], seeded.accounts["bsky"]
    assert daily[0].by_account == {masto: 1010, bsky: 505}  # 21:00 beats the 08:00 reading
    assert daily[0].total == 1515
    assert daily[-1].day == date(2026, 11, 29) and daily[-1].total == 1815


def test_weekly_growth(report: Report) -> None:
    weeks = [
        (w.week_start, w.start_followers, w.end_followers, w.net_growth) for w in report.weekly
    ]
    assert weeks == [
        (date(2026, 11, 9), 1500, 1605, 105),
        (date(2026, 11, 16), 1605, 1710, 105),
        (date(2026, 11, 23), 1710, 1815, 105),
    ]
    assert report.weekly[0].growth_rate == pytest.approx(0.07)
    assert report.weekly[1].growth_rate == pytest.approx(105 / 1605)


def test_engagement_rate_of_a_post(report: Report, seeded: Seeded) -> None:
    p1 = post(report, seeded, "P1")
    assert (p1.likes, p1.reposts, p1.replies, p1.quotes, p1.bookmarks) == (20, 5, 3, None, 2)
    assert p1.interactions == 30  # quotes unknown, not zero
    assert p1.followers == 1003  # nearest snapshot at or before 12:00 JST on Nov 9
    assert p1.engagement_rate == pytest.approx(30 / 1003)
    assert p1.impression_rate == pytest.approx(0.03)
    assert p1.url == "https://social.example/@clinic/P1"
    p4 = post(report, seeded, "P4")
    assert (p4.followers, p4.interactions) == (1040, 50)  # Nov 12's evening count
    assert p4.impression_rate is None


def test_missing_counters_stay_null(report: Report, seeded: Seeded) -> None:
    p10, p11 = post(report, seeded, "P10"), post(report, seeded, "P11")
    assert (p10.likes, p10.interactions, p10.engagement_rate) == (None, None, None)
    assert (p11.impressions, p11.interactions, p11.impression_rate) == (300, None, None)


def test_local_time_bucketing(report: Report, seeded: Seeded) -> None:
    p9 = post(report, seeded, "P9")
    assert p9.published_at == datetime(2026, 11, 23, 15, 30, tzinfo=UTC)
    assert (p9.local_weekday, p9.local_hour) == (1, 0)  # Tuesday, 00:30 in Tokyo
    assert {b.key: b.posts for b in report.by_hour} == {0: 1, 12: 7, 19: 2, 20: 1}
    assert {b.key: b.posts for b in report.by_weekday} == {0: 3, 1: 1, 2: 2, 3: 2, 4: 2, 5: 1}
    (hour0,) = [b for b in report.by_hour if b.key == 0]
    assert hour0.mean_rate == pytest.approx(100 / 1150)


def test_what_works(report: Report) -> None:
    s = report.summary
    assert (s.best_template, s.best_weekday, s.best_hour) == ("ja/health_tip", 1, 0)
    templates = {b.key: b for b in report.by_template}
    assert {k: b.posts for k, b in templates.items()} == {
        "ja/clinic_news": 3,
        "ja/health_tip": 5,
        "ja/qa": 3,
    }
    health = [30 / 1003, 12 / 500, 50 / 1040, 50 / 1090, 100 / 1150]
    assert templates["ja/health_tip"].mean_rate == pytest.approx(sum(health) / 5)
    assert templates["ja/clinic_news"].mean_rate == pytest.approx((5 / 1020 + 6 / 1070) / 2)
    rated = health + [5 / 1020, 8 / 1050, 6 / 1070, 4 / 550]
    assert s.mean_engagement_rate == pytest.approx(sum(rated) / len(rated))


def test_top_and_bottom_posts(report: Report, seeded: Seeded) -> None:
    label = {v: k for k, v in seeded.variants.items()}
    assert [label[p.variant_id] for p in report.top] == ["P9", "P4", "P7", "P1", "P2"]
    assert [label[p.variant_id] for p in report.bottom] == ["P3", "P6", "P8", "P5"]
    assert all(p.url and p.url.startswith("https://social.example/") for p in report.top)


def test_cadence_per_local_week(report: Report) -> None:
    weeks = [(c.week_start, c.planned, c.published, c.failed, c.missed) for c in report.cadence]
    assert weeks == [
        (date(2026, 11, 9), 5, 5, 0, 0),
        (date(2026, 11, 16), 4, 3, 1, 0),
        (date(2026, 11, 23), 7, 3, 0, 1),
    ]


def test_attention(report: Report, seeded: Seeded) -> None:
    label = {v: k for k, v in seeded.variants.items()}
    problems = [(label[v.variant_id], v.state, v.last_error) for v in report.attention.variants]
    assert problems == [
        ("F1", "failed", "422 text too long"),
        ("M1", "missed", "worker was not running"),
        ("U1", "unconfirmed", "timeout"),
    ]
    assert [(a.name, a.status, a.last_error) for a in report.attention.accounts] == [
        ("bsky", "needs_reauth", "token expired")
    ]


# --- edge cases ------------------------------------------------------------------------------


def test_empty_workspace_reports_no_data(engine: Engine) -> None:
    with session_scope(engine) as session:
        workspace = Workspace(name="New clinic", locale="en")
        session.add(workspace)
    assert workspace.id is not None
    report = build_report(engine, workspace.id, start=START, end=END, now=LATER)
    s = report.summary
    assert (s.start_followers, s.end_followers, s.net_growth, s.growth_rate) == (None,) * 4
    assert (s.posts_published, s.mean_engagement_rate, s.best_template) == (0, None, None)
    assert report.posts == report.top == () and report.accounts == ()
    assert [c.planned for c in report.cadence] == [0, 0, 0]
    assert not report.has_data and not report.attention
    assert "No data for this period yet" in render_plain(report)
    html = render_html(report)
    assert "No data for this period yet" in html and "<svg" not in html
    json.dumps(report_to_dict(report))


def test_unknown_workspace_and_bad_period(engine: Engine) -> None:
    with pytest.raises(NotFoundError):
        build_report(engine, 12345, start=START, end=END)
    with pytest.raises(InvalidInputError):
        build_report(engine, 1, start=END, end=START)
    with pytest.raises(InvalidInputError):
        build_report(engine, 1, start=START.replace(tzinfo=None), end=END)


def test_dst_transition_on_both_backends(engine: Engine) -> None:
    """New York leaves DST at 06:00Z on 2026-11-01: 05:30Z and 06:30Z are both 01:30 local."""
    with session_scope(engine) as session:
        workspace = Workspace(name="NY", timezone="America/New_York", locale="en")
        session.add(workspace)
        session.flush()
        assert workspace.id is not None
        seeded = Seeded(workspace.id)
        b = Builder(session, seeded)
        b.account("ny", "mastodon", workspace.id)
        for n, hour in enumerate((4, 5, 6)):
            b.variant(f"N{n}", "ny", "en/tip", datetime(2026, 11, 1, hour, 30, tzinfo=UTC))
    report = build_report(
        engine,
        seeded.workspace_id,
        start=datetime(2026, 10, 31, tzinfo=UTC),
        end=datetime(2026, 11, 3, tzinfo=UTC),
    )
    assert sorted((p.local_weekday, p.local_hour) for p in report.posts) == [(6, 0), (6, 1), (6, 1)]
    assert {b.key: b.posts for b in report.by_hour} == {0: 1, 1: 2}


def test_offset_changes_finds_transitions_to_the_second() -> None:
    ny = ZoneInfo("America/New_York")
    changes = offset_changes(ny, datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    moments = [(m.astimezone(UTC), o) for m, o in changes[1:]]
    assert moments == [
        (datetime(2026, 3, 8, 7, tzinfo=UTC), timedelta(hours=-4)),
        (datetime(2026, 11, 1, 6, tzinfo=UTC), timedelta(hours=-5)),
    ]
    assert len(offset_changes(TOKYO, START, END)) == 1


# --- renderers -------------------------------------------------------------------------------


def test_html_is_self_contained_and_escaped(report: Report) -> None:
    html = render_html(report)
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="ja">' in html and 'name="viewport"' in html and "@media print" in html
    assert html.count("<svg") == 4  # followers, weekday, hour, cadence
    assert "<script" not in html  # neither pygal's nor the post's
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert not re.search(r"""<link[^>]+rel=["']?stylesheet""", html)
    assert "@import" not in html and "url(" not in html
    loads = re.findall(r"""\s(?:src|href|xlink:href)=["']?([^"'\s>]+)""", html)
    assert loads and all(url.startswith("https://social.example/@clinic/") for url in loads)
    assert "さくら内科クリニック" in html and "反応の良いテンプレート" in html


def test_html_escapes_names_in_charts_and_links_only_web_urls(
    engine: Engine, seeded: Seeded
) -> None:
    with session_scope(engine) as session:
        account = session.get(Account, seeded.accounts["masto"])
        variant = session.get(Variant, seeded.variants["P9"])
        assert account is not None and variant is not None
        account.name = "<b>masto</b>"
        variant.remote_url = "javascript:alert(1)"
    html = render_html(build_report(engine, seeded.workspace_id, start=START, end=END, now=LATER))
    assert "<b>masto</b>" not in html and "&lt;b&gt;masto&lt;/b&gt;" in html
    assert "javascript:" not in html


def test_json_round_trips(report: Report) -> None:
    data = report_to_dict(report)
    again = json.loads(json.dumps(data, ensure_ascii=False))
    assert again["summary"]["net_growth"] == 315
    assert again["summary"]["growth_rate"] == 0.21
    assert again["start"] == "2026-11-08T15:00:00+00:00"
    assert again["followers_over_time"][0]["day"] == "2026-11-09"
    assert again["top"][0]["published_at"] == "2026-11-23T15:30:00+00:00"
    assert again["top"][0]["engagement_rate"] == round(100 / 1150, 6)
    assert again["by_hour"][0] == {
        "key": 0,
        "posts": 1,
        "mean_rate": round(100 / 1150, 6),
        "mean_interactions": 100.0,
        "mean_impression_rate": None,
    }


def test_plain_text_shows_the_summary(report: Report) -> None:
    text = render_plain(report)
    assert "さくら内科クリニック" in text
    for expected in ("1,500 → 1,815", "+315", "+21.00%", "ja/health_tip", "422 text too long"):
        assert expected in text
    assert "\x1b[" not in text
    assert render_text(report).renderables


def test_plain_text_does_not_read_markup_from_the_database(engine: Engine, seeded: Seeded) -> None:
    with session_scope(engine) as session:
        account = session.get(Account, seeded.accounts["masto"])
        assert account is not None
        account.name = "[bold]masto[/bold]"
    report = build_report(engine, seeded.workspace_id, start=START, end=END, now=LATER)
    assert "[bold]masto[/bold]" in render_plain(report)


def test_what_works_tables_say_when_no_post_was_measured(engine: Engine) -> None:
    with session_scope(engine) as session:
        workspace = Workspace(name="Quiet clinic", locale="en")
        session.add(workspace)
        session.flush()
        assert workspace.id is not None
        seeded = Seeded(workspace.id)
        b = Builder(session, seeded)
        b.account("masto", "mastodon", workspace.id)
        b.snapshot("masto", jst(5, 21), 100)
        b.snapshot("masto", jst(20, 21), 120)
    report = build_report(engine, seeded.workspace_id, start=START, end=END, now=LATER)
    html = render_html(report)
    assert report.has_data and report.summary.posts_published == 0
    assert html.count("No post published in this period has been measured yet.") == 6


def test_english_labels(engine: Engine, seeded: Seeded) -> None:
    with session_scope(engine) as session:
        workspace = session.get(Workspace, seeded.workspace_id)
        assert workspace is not None
        workspace.locale = "en"
    report = build_report(engine, seeded.workspace_id, start=START, end=END, now=LATER)
    assert "Best weekday" in render_plain(report) and "Tue" in render_plain(report)
    assert '<html lang="en">' in render_html(report)


def test_labels_have_the_same_keys_in_every_locale() -> None:
    assert JA.keys() == EN.keys()
    assert STATES["ja"].keys() == STATES["en"].keys()
    assert WEEKDAYS["ja"][1] == "火" and WEEKDAYS["en"][1] == "Tue"
    assert labels_for("ja-JP").locale == "ja" and labels_for("fr").locale == "en"
    assert labels_for("ja").hour(0) == "0時" and labels_for("en").hour(9) == "09:00"
