"""Reading and importing the topic backlog: CSV and YAML, errors that name file, row and field."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from brandkit.content import TemplateLibrary
from brandkit.db.engine import session_scope
from brandkit.db.models import Topic, Workspace
from brandkit.errors import InvalidInputError, NotFoundError
from brandkit.planner.backlog import ImportReport, import_topics
from brandkit.planner.topic_files import read_topics
from tests.factories import make_workspace

LIBRARY = TemplateLibrary()
HEADER = "topic,category,template,language,priority,not_before,evergreen,var.tip,var.reason\n"


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_csv_rows_with_variables(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "topics.csv",
        "\ufeff"  # Excel's "CSV UTF-8" starts with a BOM
        + HEADER
        + '減塩,health_tip,,ja,5,2026-12-01,false,"スープは半分、残しましょう。",塩分が多いため\n'
        + ",,,,,,,,\n"  # an empty row is skipped
        + "歩数,,ja/health_tip,,,2026/12/10,yes,一駅歩く,血圧\n",
    )
    first, second = read_topics(path)
    assert (first.title, first.category, first.template, first.language) == (
        "減塩",
        "health_tip",
        None,
        "ja",
    )
    assert (first.priority, first.not_before, first.evergreen) == (5, date(2026, 12, 1), False)
    assert first.variables == {"tip": "スープは半分、残しましょう。", "reason": "塩分が多いため"}
    assert first.location.at("priority") == f"{path}, row 2, column priority"
    assert (second.template, second.priority, second.not_before, second.evergreen) == (
        "ja/health_tip",
        0,
        date(2026, 12, 10),
        True,
    )
    assert second.location.line == 4


def test_yaml_topics_with_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "topics.yaml",
        "# backlog\n"
        "- topic: 減塩\n"
        "  category: health_tip\n"
        "  priority: 5\n"
        "  not_before: 2026-12-01\n"
        "  variables:\n"
        "    tip: スープは半分残しましょう。\n"
        "    reason: 塩分が多いため\n"
        "- title: 歩数\n"
        "  template: ja/health_tip\n"
        "  evergreen: yes\n"
        "  variables: {tip: 一駅歩く, reason: 血圧}\n",
    )
    first, second = read_topics(path)
    assert (first.title, first.priority, first.not_before) == ("減塩", 5, date(2026, 12, 1))
    assert first.location.at("variables.reason") == f"{path}:8: topic 1, variables.reason"
    assert (second.title, second.template, second.evergreen) == ("歩数", "ja/health_tip", True)
    assert second.location.line == 9


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("topic,colour\n減塩,red\n", "row 1, column colour: unknown column"),
        ("topic,tip\n減塩,x\n", "unknown column — template variables go in var.NAME columns"),
        ("category\nhealth_tip\n", "row 1: there is no 'topic' column"),
        ("topic,topic\na,b\n", "row 1, column topic: appears twice"),
        (HEADER + "減塩,health_tip,,ja,high,,,a,b\n", "row 2, column priority: 'high' is not a"),
        (HEADER + "a,health_tip,,ja,1,,,a,b\n減塩,,,,,12/01,,a,b\n", "row 3, column not_before"),
        (HEADER + "減塩,,,ja,,,maybe,a,b\n", "row 2, column evergreen: 'maybe' is not true"),
        (HEADER + "減塩,,,fr,,,,a,b\n", "row 2, column language: 'fr' is not ja or en"),
        (HEADER + ",health_tip,,,,,,a,b\n", "row 2, column topic: is empty"),
        ("topic\na,b\n", "row 2: has 2 cells but the header names 1"),
        ("", "the file is empty"),
    ],
)
def test_csv_errors_name_file_row_and_column(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, "topics.csv", text)
    with pytest.raises(InvalidInputError) as info:
        read_topics(path)
    assert str(info.value).startswith(str(path))
    assert expected in str(info.value)
    assert info.value.exit_code == 65


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("topic: 減塩\n", ":1: the file must be a list of topics"),
        ("- 減塩\n", ":1: topic 1: must be a mapping"),
        ("- topic: a\n- topic: b\n  colour: red\n", ":3: topic 2, colour: unknown field"),
        ("- topic: a\n  priority: high\n", ":2: topic 1, priority: 'high' is not a whole number"),
        ("- topic: a\n  not_before: 2026-12-01 10:00\n", ":2: topic 1, not_before:"),
        ("- topic: a\n  variables: [x]\n", ":2: topic 1, variables: must be a mapping"),
        ("- topic: a\n  variables:\n    tip: {x: 1}\n", ":3: topic 1, variables.tip:"),
        ("- topic: [a\n", ": not valid YAML"),
    ],
)
def test_yaml_errors_name_file_line_and_field(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, "topics.yaml", text)
    with pytest.raises(InvalidInputError) as info:
        read_topics(path)
    assert str(info.value).startswith(str(path))
    assert expected in str(info.value)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        read_topics(tmp_path / "missing.csv")
    with pytest.raises(InvalidInputError, match="save the backlog as .csv"):
        read_topics(write(tmp_path, "topics.xlsx", "x"))
    with pytest.raises(InvalidInputError, match="not Shift_JIS"):
        read_topics(write(tmp_path, "topics.csv", HEADER + "減塩\n", encoding="shift_jis"))


def import_file(engine: Engine, path: Path) -> ImportReport:
    with session_scope(engine) as session:
        workspace = session.exec(select(Workspace)).one()
        return import_topics(session, LIBRARY, workspace, read_topics(path))


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("減塩,,nope,,,,,a,b", "row 3, column template: No template named 'nope'"),
        ("減塩,,ja/health_tip,,,,,,b", "row 3, column var.tip: is missing: ja/health_tip needs it"),
        ("減塩,clinic_news,ja/health_tip,,,,,a,b", "column category: 'clinic_news' but"),
        ("減塩,,ja/health_tip,en,,,,a,b", "column language: 'en' but ja/health_tip is ja"),
        ("減塩,,,,,,,a,b", "column category: is empty, and so is template"),
        ("減塩,nope,,,,,,a,b", "column category: no ja template has category 'nope'"),
        ("減塩,seasonal,,,,,,a,b", "row 3: no seasonal template can be filled"),
    ],
)
def test_import_checks_rows_against_the_library(
    engine: Engine, tmp_path: Path, row: str, expected: str
) -> None:
    make_workspace(engine)
    path = write(tmp_path, "topics.csv", HEADER + "歩数,health_tip,,,,,,a,b\n" + row + "\n")
    with pytest.raises(InvalidInputError) as info:
        import_file(engine, path)
    assert expected in str(info.value)
    with session_scope(engine) as session:  # one bad row: nothing imported
        assert session.exec(select(Topic)).all() == []


def test_reimporting_updates_instead_of_duplicating(engine: Engine, tmp_path: Path) -> None:
    make_workspace(engine)
    path = write(
        tmp_path,
        "topics.csv",
        HEADER + "減塩,,ja/health_tip,,1,,,a,b\n歩数,health_tip,,,2,,,c,d\n",
    )
    assert import_file(engine, path) == ImportReport(added=2)
    assert import_file(engine, path) == ImportReport(unchanged=2)
    write(tmp_path, "topics.csv", HEADER + "減塩,,ja/health_tip,,9,,true,a,b\n歩数,,,,,,,x,y\n")
    with pytest.raises(InvalidInputError, match="category: is empty"):
        import_file(engine, path)
    write(tmp_path, "topics.csv", HEADER + "減塩,,ja/health_tip,,9,,true,a,b\n")
    assert import_file(engine, path) == ImportReport(updated=1)
    with session_scope(engine) as session:
        stored = {t.title: t for t in session.exec(select(Topic)).all()}
    assert stored["減塩"].priority == 9 and stored["減塩"].evergreen
    assert stored["減塩"].category == "health_tip" and stored["減塩"].language == "ja"
    assert stored["歩数"].template is None and stored["歩数"].variables == {
        "tip": "c",
        "reason": "d",
    }
