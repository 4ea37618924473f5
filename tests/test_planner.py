"""Planning weeks from the calendar and the topic backlog, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from brandkit.calendar_config import CalendarEntry
from brandkit.content import TemplateLibrary
from brandkit.db.engine import session_scope
from brandkit.db.models import Post, Slot, Topic, Variant, Workspace
from brandkit.errors import BrandkitError, ConfigError, InvalidInputError, NotFoundError
from brandkit.planner.backlog import BacklogTopics, import_topics
from brandkit.planner.plan import EXISTS, NEW, PAST, PlannedSlot, plan_slots, plan_week
from brandkit.planner.slots import add_slot, remove_slot, sync_config_slots
from brandkit.planner.topic_files import Location, TopicRow
from tests.factories import make_account, make_workspace

W49 = date(2026, 11, 30)  # Monday of 2026-W49
W50 = date(2026, 12, 7)
NOW = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
LIBRARY = TemplateLibrary()
TIP = {"topic": "睡眠", "tip": "早く寝ましょう。", "reason": "体が休まります。"}


@dataclass
class Clinic:
    engine: Engine
    workspace_id: int

    def session(self) -> Any:
        return session_scope(self.engine)

    def workspace(self, session: Session) -> Workspace:
        workspace = session.get(Workspace, self.workspace_id)
        assert workspace is not None
        return workspace

    def add(self, weekday: int, at: str, **kwargs: Any) -> int:
        kwargs.setdefault("template", None)
        kwargs.setdefault("category", None)
        kwargs.setdefault("accounts", ["dr-yamada", "sakura-clinic"])
        kwargs.setdefault("variables", {})
        with self.session() as session:
            slot = add_slot(
                session, LIBRARY, self.workspace(session), weekday=weekday, local_time=at, **kwargs
            )
            assert slot.id is not None
            return slot.id

    def plan(
        self, monday: date = W49, now: datetime = NOW, backlog: bool = True
    ) -> list[PlannedSlot]:
        with self.session() as session:
            workspace = self.workspace(session)
            topics = BacklogTopics(session, LIBRARY, workspace, now) if backlog else None
            return plan_slots(
                session,
                LIBRARY,
                workspace=workspace,
                profile=None,
                monday=monday,
                now=now,
                topics=topics,
            )

    def topics(self, *rows: TopicRow) -> None:
        with self.session() as session:
            import_topics(session, LIBRARY, self.workspace(session), rows)

    def count(self, model: type[Any]) -> int:
        with self.session() as session:
            return int(session.exec(select(func.count()).select_from(model)).one())


@pytest.fixture
def clinic(engine: Engine) -> Iterator[Clinic]:
    workspace_id = make_workspace(engine)
    make_account(engine, workspace_id, name="dr-yamada")
    make_account(engine, workspace_id, name="sakura-clinic", token="sandbox-sakura")
    yield Clinic(engine, workspace_id)


def topic(title: str, n: int = 1, **kwargs: Any) -> TopicRow:
    kwargs.setdefault("category", "health_tip")
    kwargs.setdefault(
        "variables", {"tip": f"{title}を続けましょう。", "reason": "体に良いからです。"}
    )
    return TopicRow(title=title, location=Location("topics.csv", n + 1, n, csv=True), **kwargs)


def test_planning_twice_creates_nothing_new(clinic: Clinic) -> None:
    clinic.add(1, "12:30", template="ja/health_tip")
    clinic.add(4, "18:00", template="clinic_news", accounts=["sakura-clinic"])
    first = clinic.plan(backlog=False)
    assert [p.status for p in first] == [NEW, NEW]
    assert [len(p.variants) for p in first] == [2, 1]
    assert first[0].local_time.strftime("%Y-%m-%d %H:%M") == "2026-12-01 12:30"
    assert first[0].scheduled_at == datetime(2026, 12, 1, 3, 30, tzinfo=UTC)
    assert all(v.fits for p in first for v in p.variants)
    again = clinic.plan(backlog=False)
    assert [p.status for p in again] == [EXISTS, EXISTS]
    assert [p.post_id for p in again] == [p.post_id for p in first]
    assert clinic.count(Post) == 2 and clinic.count(Variant) == 3
    assert [p.status for p in clinic.plan(W50, backlog=False)] == [NEW, NEW]
    assert clinic.count(Post) == 4


def test_slots_already_past_are_not_drafted(clinic: Clinic) -> None:
    clinic.add(0, "09:00", template="ja/health_tip")
    clinic.add(2, "09:00", template="ja/health_tip")
    wednesday_morning = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)  # Wed 08:00 JST
    assert [p.status for p in clinic.plan(now=wednesday_morning)] == [PAST, NEW]


def test_plan_week_returns_the_new_posts(clinic: Clinic) -> None:
    clinic.add(1, "12:30", template="ja/health_tip")
    with clinic.session() as session:
        posts = plan_week(
            session, LIBRARY, workspace=clinic.workspace(session), profile=None, monday=W49, now=NOW
        )
        assert [p.template_name for p in posts] == ["ja/health_tip"]
        assert posts[0].variables == LIBRARY.get("ja/health_tip").example_variables()


def test_a_dry_run_rolls_back_posts_and_topic_use(clinic: Clinic) -> None:
    clinic.add(1, "12:30", template="ja/health_tip")
    clinic.topics(topic("減塩"))
    with Session(clinic.engine) as session:
        workspace = clinic.workspace(session)
        planned = plan_slots(
            session,
            LIBRARY,
            workspace=workspace,
            profile=None,
            monday=W49,
            now=NOW,
            topics=BacklogTopics(session, LIBRARY, workspace, NOW),
        )
        session.rollback()
    assert planned[0].topic == "減塩" and planned[0].status == NEW
    assert clinic.count(Post) == 0
    with clinic.session() as session:
        assert session.exec(select(Topic)).one().used_at is None


def test_a_topic_is_used_once_unless_evergreen(clinic: Clinic) -> None:
    clinic.add(1, "12:30", template="ja/health_tip")
    clinic.add(3, "12:30", template="ja/health_tip")
    clinic.topics(topic("減塩", 1, priority=5), topic("歩数", 2, priority=3, evergreen=True))
    week1 = clinic.plan(W49)
    assert [(p.topic, p.source) for p in week1] == [("減塩", "backlog"), ("歩数", "backlog")]
    week2 = clinic.plan(W50)
    assert [p.topic for p in week2] == ["歩数", "歩数"]  # 減塩 is used up; 歩数 comes back
    with clinic.session() as session:
        rows = {t.title: t for t in session.exec(select(Topic)).all()}
        assert rows["減塩"].used_by_post_id == week1[0].post_id
        assert rows["歩数"].used_by_post_id == week2[1].post_id
        post = session.get(Post, week1[0].post_id)
        assert post is not None
        # the topic's title fills the template's `topic` variable
        assert post.variables["topic"] == "減塩" and post.variables["tip"] == "減塩を続けましょう。"


def test_priority_first_and_not_before_the_slots_local_date(clinic: Clinic) -> None:
    clinic.add(1, "12:30", template="ja/health_tip")  # Tue 2026-12-01
    clinic.add(4, "07:00", template="ja/health_tip")  # Fri 2026-12-04
    clinic.add(6, "07:00", template="ja/health_tip")  # Sun 2026-12-06
    clinic.topics(
        topic("低い", 1, priority=1),
        topic("高いが木曜から", 2, priority=9, not_before=date(2026, 12, 3)),
        topic("中", 3, priority=5),
    )
    assert [p.topic for p in clinic.plan()] == ["中", "高いが木曜から", "低い"]


def test_not_before_is_a_local_date(clinic: Clinic) -> None:
    """Mon 07:30 JST is still Sunday in UTC: a topic not before Monday is already allowed."""
    clinic.add(0, "07:30", template="ja/health_tip")
    clinic.topics(topic("月曜から", not_before=date(2026, 11, 30)))
    assert clinic.plan()[0].topic == "月曜から"


def test_evergreen_topics_take_turns_by_last_use(clinic: Clinic) -> None:
    clinic.add(1, "12:30", template="ja/health_tip")
    clinic.topics(
        topic("A", 1, evergreen=True), topic("B", 2, evergreen=True), topic("C", 3, evergreen=True)
    )
    titles = []
    for w, monday in enumerate([W49, W50, date(2026, 12, 14), date(2026, 12, 21)]):
        titles += [p.topic for p in clinic.plan(monday, now=NOW.replace(hour=w))]
    assert titles == ["A", "B", "C", "A"]


def test_topics_of_another_language_or_category_are_not_used(clinic: Clinic) -> None:
    clinic.add(1, "12:30", template="ja/health_tip")
    clinic.topics(
        topic("sleep", 1, language="en", template="en/health_tip"),
        topic("退院", 2, category="clinic_news", variables={"headline": "x", "details": "y"}),
    )
    (planned,) = clinic.plan()
    assert planned.topic is None and planned.source == "examples"


def test_a_category_slot_chooses_the_topics_template_or_the_first_that_fits(clinic: Clinic) -> None:
    clinic.add(1, "12:30", category="seasonal", accounts=["dr-yamada"])
    clinic.add(2, "12:30", category="seasonal", accounts=["dr-yamada"])
    clinic.add(3, "12:30", category="seasonal", accounts=["dr-yamada"])
    clinic.topics(
        # no template: the first seasonal template by name whose variables it fills
        topic("インフル", 1, category="seasonal", priority=3, variables={"season_note": "流行中"}),
        topic(
            "ノロ",
            2,
            category="seasonal",
            template="ja/norovirus_alert",
            priority=2,
            variables={"season_note": "冬です"},
        ),
    )
    planned = clinic.plan()
    assert [(p.template, p.topic) for p in planned] == [
        ("ja/influenza_alert", "インフル"),
        ("ja/norovirus_alert", "ノロ"),
        ("ja/hay_fever_alert", None),  # backlog empty: the category's first template, examples
    ]
    assert planned[2].source == "examples"


def test_the_slots_own_variables_are_the_fallback(clinic: Clinic) -> None:
    clinic.add(1, "12:30", template="ja/health_tip", variables=TIP)
    (planned,) = clinic.plan()
    assert planned.source == "slot" and planned.topic is None
    with clinic.session() as session:
        post = session.get(Post, planned.post_id)
        assert post is not None and post.variables == TIP


def test_a_slot_that_cannot_be_drafted_is_named_and_nothing_is_written(clinic: Clinic) -> None:
    clinic.add(1, "12:30", template="ja/health_tip")
    slot_id = clinic.add(2, "12:30", template="ja/health_tip")
    with clinic.session() as session:
        slot = session.get(Slot, slot_id)
        assert slot is not None
        slot.accounts = ["gone"]
    with pytest.raises(NotFoundError, match=rf"slot {slot_id} \(Wed 12:30 ja/health_tip\)"):
        clinic.plan()
    assert clinic.count(Post) == 0


def test_adding_a_slot_checks_accounts_templates_and_variables(clinic: Clinic) -> None:
    with pytest.raises(NotFoundError, match="No account named 'nobody'"):
        clinic.add(1, "12:30", template="ja/health_tip", accounts=["nobody"])
    with pytest.raises(NotFoundError, match="No template named 'nope'"):
        clinic.add(1, "12:30", template="nope")
    with pytest.raises(NotFoundError, match="category named 'nope'"):
        clinic.add(1, "12:30", category="nope")
    with pytest.raises(InvalidInputError, match="needs variable 'tip'"):
        clinic.add(1, "12:30", template="ja/health_tip", variables={"topic": "x"})
    with pytest.raises(InvalidInputError, match="HH:MM"):
        clinic.add(1, "7", template="ja/health_tip")
    first = clinic.add(1, "7:05", template="health_tip")
    with pytest.raises(InvalidInputError, match=f"slot {first} already posts Tue 07:05"):
        clinic.add(1, "07:05", template="ja/health_tip")


def test_removing_a_slot_keeps_it_while_posts_point_at_it(clinic: Clinic) -> None:
    used = clinic.add(1, "12:30", template="ja/health_tip")
    clinic.plan()
    unused = clinic.add(2, "12:30", template="ja/health_tip")
    with clinic.session() as session:
        workspace = clinic.workspace(session)
        assert remove_slot(session, LIBRARY, workspace, used, ()) == "deactivated"
        assert remove_slot(session, LIBRARY, workspace, unused, ()) == "deleted"
        assert remove_slot(session, LIBRARY, workspace, used, ()) == "already inactive"
        with pytest.raises(NotFoundError):
            remove_slot(session, LIBRARY, workspace, unused, ())
    assert clinic.count(Post) == 1 and clinic.count(Slot) == 1
    assert clinic.plan(W50) == []


def entry(index: int, weekday: int, at: str, **kwargs: Any) -> CalendarEntry:
    kwargs.setdefault("template", None)
    kwargs.setdefault("category", None)
    kwargs.setdefault("accounts", ("dr-yamada",))
    return CalendarEntry(weekday=weekday, time=at, line=index * 6, index=index, **kwargs)


def sync(clinic: Clinic, *entries: CalendarEntry) -> tuple[int, int, int, int]:
    with clinic.session() as session:
        report = sync_config_slots(session, LIBRARY, clinic.workspace(session), entries)
    return (report.created, report.updated, report.deactivated, report.deleted)


def slot_rows(clinic: Clinic) -> list[tuple[int | None, int, str, bool, list[str]]]:
    with clinic.session() as session:
        return [
            (s.id, s.weekday, s.local_time, s.active, s.accounts)
            for s in session.exec(select(Slot).order_by(Slot.id)).all()  # type: ignore[arg-type]
        ]


def test_toml_entries_sync_idempotently_and_planning_stays_idempotent(clinic: Clinic) -> None:
    tue = entry(1, 1, "12:30", template="health_tip")
    fri = entry(2, 4, "18:00", category="clinic_news")
    assert sync(clinic, tue, fri) == (2, 0, 0, 0)
    assert sync(clinic, tue, fri) == (0, 0, 0, 0)
    ids = [row[0] for row in slot_rows(clinic)]
    assert [p.status for p in clinic.plan()] == [NEW, NEW]
    # the same entries, re-read (e.g. another line): same slots, nothing new planned
    assert sync(clinic, entry(3, 1, "12:30", template="ja/health_tip"), fri) == (0, 0, 0, 0)
    assert [p.status for p in clinic.plan()] == [EXISTS, EXISTS]
    # new accounts for an entry: the same slot, updated
    both = entry(1, 1, "12:30", template="health_tip", accounts=("dr-yamada", "sakura-clinic"))
    assert sync(clinic, both, fri) == (0, 1, 0, 0)
    assert [row[0] for row in slot_rows(clinic)] == ids
    # an entry removed: its slot has posts, so it is deactivated, not deleted
    assert sync(clinic, both) == (0, 0, 1, 0)
    assert [row[3] for row in slot_rows(clinic)] == [True, False]
    assert [p.status for p in clinic.plan(W50)] == [NEW]
    # back again: the same row comes back to life, and W49 still has its post
    assert sync(clinic, both, fri) == (0, 1, 0, 0)
    assert [p.status for p in clinic.plan()] == [EXISTS, EXISTS]
    # removed before any post points at it: deleted
    assert sync(clinic, both, fri, entry(4, 6, "09:00", template="ja/health_tip")) == (1, 0, 0, 0)
    assert sync(clinic, both, fri) == (0, 0, 0, 1)
    assert clinic.count(Post) == 3


def test_a_toml_entry_adopts_the_same_hand_made_slot(clinic: Clinic) -> None:
    made = clinic.add(1, "12:30", template="ja/health_tip", accounts=["dr-yamada"])
    clinic.plan()
    assert sync(clinic, entry(1, 1, "12:30", template="health_tip")) == (0, 1, 0, 0)
    assert [row[0] for row in slot_rows(clinic)] == [made]
    assert [p.status for p in clinic.plan()] == [EXISTS]
    with clinic.session() as session, pytest.raises(InvalidInputError, match="comes from"):
        remove_slot(
            session,
            LIBRARY,
            clinic.workspace(session),
            made,
            (entry(1, 1, "12:30", template="health_tip"),),
        )


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (entry(2, 1, "12:30", template="nope"), "entry 2: No template named 'nope'"),
        (entry(2, 1, "12:30", template="ja/health_tip", accounts=("x",)), "No account named 'x'"),
        (entry(2, 1, "12:30", category="nope"), "category named 'nope'"),
        (entry(2, 0, "07:30", template="ja/health_tip"), "the same slot as entry 1"),
    ],
)
def test_a_toml_entry_naming_something_unknown_is_a_config_error(
    clinic: Clinic, bad: CalendarEntry, message: str
) -> None:
    good = entry(1, 0, "07:30", template="health_tip")
    with pytest.raises(ConfigError, match=message) as info:
        sync(clinic, good, bad)
    assert str(info.value).startswith("brandkit.toml:")
    assert clinic.count(Slot) == 0


def test_errors_keep_their_type_and_exit_code(clinic: Clinic) -> None:
    clinic.add(1, "12:30", template="ja/health_tip")
    with clinic.session() as session:
        slot = session.exec(select(Slot)).one()
        slot.variables = {"topic": "x"}  # the template also needs tip and reason
    with pytest.raises(BrandkitError) as info:
        clinic.plan(backlog=False)
    assert "slot" in str(info.value) and "missing variable 'tip'" in str(info.value)
    assert info.value.exit_code == 65
