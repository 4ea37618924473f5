"""What works, by category, language, length and weekday × hour, with impression rates, and a
report for one doctor. Four posts whose numbers are easy to check by hand, on both backends.

| post | account | template        | category (from)  | lang | length | likes | impressions |
| A    | masto   | ja/health_tip   | health_tip (tpl) | ja   | 100    | 20    | —           |
| B    | masto   | en/health_tip   | health_tip (tpl) | en   | 200    | 40    | —           |
| C    | xacc    | ja/clinic_news  | seasonal (topic) | ja   | 300    | 10    | 1,000       |
| D    | xacc    | (none)          | faq (slot)       | ja   | 600*   | 35    | 700         |

Every account has 1,000 followers; * D's length is the measured ``Variant.length``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from brandkit.db.engine import session_scope
from brandkit.db.models import (
    Account,
    AccountSnapshot,
    Post,
    PostMetrics,
    Profile,
    Slot,
    Topic,
    Variant,
    Workspace,
)
from brandkit.errors import NotFoundError
from brandkit.reports import Report, build_report, render_html
from brandkit.reports.model import Bucket
from tests.test_reports import END, LATER, START, jst

CATEGORIES = {
    "ja/health_tip": "health_tip",
    "en/health_tip": "health_tip",
    "ja/clinic_news": "news",
}


def _post(
    session: Session,
    workspace_id: int,
    account_id: int,
    at: datetime,
    counters: dict[str, int],
    *,
    text: str,
    length: int = 0,
    topic: str | None = None,
    **fields: Any,
) -> None:
    post = Post(workspace_id=workspace_id, scheduled_at=at, **fields)
    session.add(post)
    session.flush()
    assert post.id is not None
    variant = Variant(
        post_id=post.id,
        account_id=account_id,
        text=text,
        length=length,
        state="published",
        due_at=at,
        published_at=at,
        remote_url="https://social.example/p",
    )
    session.add(variant)
    session.flush()
    assert variant.id is not None
    session.add(PostMetrics(variant_id=variant.id, taken_at=jst(29, 21), **counters))
    if topic:
        session.add(
            Topic(workspace_id=workspace_id, title="t", category=topic, used_by_post_id=post.id)
        )


@pytest.fixture
def workspace_id(engine: Engine) -> int:
    with session_scope(engine) as session:
        workspace = Workspace(name="Clinic", locale="en")
        session.add(workspace)
        session.flush()
        assert workspace.id is not None
        ws = workspace.id
        doctors = [Profile(workspace_id=ws, slug=s, display_name=s) for s in ("dr-a", "dr-b")]
        session.add_all(doctors)
        session.flush()
        accounts = []
        for name, platform, doctor in (
            ("masto", "mastodon", doctors[0]),
            ("xacc", "x", doctors[1]),
        ):
            account = Account(
                workspace_id=ws,
                profile_id=doctor.id,
                name=name,
                platform=platform,
                base_url="https://example.invalid",
                credentials_encrypted=b"-",
            )
            session.add(account)
            session.flush()
            assert account.id is not None
            accounts.append(account.id)
            for day in range(8, 30):
                session.add(
                    AccountSnapshot(account_id=account.id, taken_at=jst(day, 8), followers=1000)
                )
        slot = Slot(workspace_id=ws, weekday=0, local_time="12:00", category="faq")
        session.add(slot)
        session.flush()
        masto, xacc = accounts
        zero = {"reposts": 0, "replies": 0, "quotes": 0, "bookmarks": 0}
        _post(session, ws, masto, jst(9, 12), {"likes": 20, **zero}, text="a" * 100,
              template_name="ja/health_tip", language="ja")  # fmt: skip
        _post(session, ws, masto, jst(10, 12), {"likes": 40, **zero}, text="b" * 200,
              template_name="en/health_tip", language="en")  # fmt: skip
        _post(session, ws, xacc, jst(9, 20), {"likes": 10, **zero, "impressions": 1000},
              text="c" * 300, topic="seasonal", template_name="ja/clinic_news")  # fmt: skip
        _post(session, ws, xacc, jst(9, 12) + timedelta(minutes=30),
              {"likes": 35, **zero, "impressions": 700}, text="d", length=600,
              slot_id=slot.id)  # fmt: skip
        return ws


def build(engine: Engine, workspace_id: int, profile: str | None = None) -> Report:
    return build_report(
        engine,
        workspace_id,
        start=START,
        end=END,
        profile=profile,
        categories=CATEGORIES,
        now=LATER,
    )


def rates(buckets: tuple[Bucket[Any], ...]) -> dict[Any, tuple[int, float | None]]:
    return {b.key: (b.posts, b.mean_rate) for b in buckets}


def test_category_comes_from_topic_then_template_then_slot(
    engine: Engine, workspace_id: int
) -> None:
    report = build(engine, workspace_id)
    assert rates(report.by_category) == {
        "faq": (1, pytest.approx(0.035)),
        "health_tip": (2, pytest.approx(0.03)),
        "seasonal": (1, pytest.approx(0.01)),  # the topic wins over the template's "news"
    }
    assert report.summary.best_category == "faq"
    assert {p.category for p in report.posts} == {"faq", "health_tip", "seasonal"}


def test_language_and_length_bands(engine: Engine, workspace_id: int) -> None:
    report = build(engine, workspace_id)
    assert rates(report.by_language) == {
        "en": (1, pytest.approx(0.04)),
        "ja": (3, pytest.approx((0.02 + 0.01 + 0.035) / 3)),
    }
    assert rates(report.by_length) == {
        0: (1, pytest.approx(0.02)),
        141: (1, pytest.approx(0.04)),
        281: (1, pytest.approx(0.01)),
        501: (1, pytest.approx(0.035)),  # the measured length, not the one-letter text
    }


def test_impression_rate_only_where_impressions_are_given(
    engine: Engine, workspace_id: int
) -> None:
    report = build(engine, workspace_id)
    assert report.summary.mean_impression_rate == pytest.approx((10 / 1000 + 35 / 700) / 2)
    by_platform = {b.key: b.mean_impression_rate for b in report.by_category}
    assert by_platform["health_tip"] is None and by_platform["faq"] == pytest.approx(0.05)
    assert report.gaps.without_impressions == ("mastodon",)


def test_weekday_by_hour_heatmap(engine: Engine, workspace_id: int) -> None:
    report = build(engine, workspace_id)
    cells = {(c.weekday, c.hour): (c.posts, c.mean_rate) for c in report.heatmap}
    assert cells == {
        (0, 12): (2, pytest.approx((0.02 + 0.035) / 2)),
        (0, 20): (1, pytest.approx(0.01)),
        (1, 12): (1, pytest.approx(0.04)),
    }
    html = render_html(report)
    assert 'class="heat"' in html and "Weekday × hour" in html
    assert html.count('<td style="background: #') == 3


def test_a_report_for_one_doctor(engine: Engine, workspace_id: int) -> None:
    report = build(engine, workspace_id, profile="dr-a")
    assert report.profile == "dr-a"
    assert [a.name for a in report.accounts] == ["masto"]
    assert report.summary.posts_published == 2
    assert report.summary.end_followers == 1000
    with pytest.raises(NotFoundError):
        build(engine, workspace_id, profile="dr-z")
