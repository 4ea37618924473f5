"""The report's goal status, HTML additions, Markdown, CSV (both layouts) and the command line,
on the hand-computed workspace of ``test_reports`` with a followers goal added.

The two accounts gain 15 followers a day together, from 1,500 on Nov 8 to 1,815 on Nov 29; the
goal is 2,500 by 2027-01-31. Measured at the period's end, that is 685 to go in 63 days (10.9 a
day needed, 15 a day actual): on track, reached after ⌈685 / 15⌉ = 46 days, on 2027-01-14.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from brandkit.cli.main import main
from brandkit.db.engine import make_engine, session_scope
from brandkit.db.models import Account, Goal, Workspace
from brandkit.reports import (
    Report,
    build_report,
    render_html,
    render_markdown,
    render_plain,
    report_to_dict,
    write_csv,
    write_csv_dir,
    write_weekly_report,
)
from brandkit.reports.categories import template_categories
from brandkit.reports.markdown import escape
from brandkit.reports.weekly import previous_week
from tests.test_reports import END, LATER, START, XSS, Builder, Seeded, jst, likes, seed


@pytest.fixture
def report(engine: Engine) -> Report:
    seeded = seed(engine)
    with session_scope(engine) as session:
        workspace = session.get(Workspace, seeded.workspace_id)
        assert workspace is not None
        workspace.locale = "en"
        session.add(
            Goal(
                workspace_id=seeded.workspace_id,
                metric="followers",
                target=2500,
                due_date=date(2027, 1, 31),
                baseline=1500,
            )
        )
        account = session.get(Account, seeded.accounts["bsky"])
        assert account is not None
        account.name = "[evil](javascript:alert(1))"
    return build_report(engine, seeded.workspace_id, start=START, end=END, now=LATER)


def test_the_goal_is_measured_at_the_end_of_the_period(report: Report) -> None:
    (goal,) = report.goals
    assert goal.as_of == date(2026, 11, 29)
    assert (goal.current, goal.status) == (1815, "on_track")
    assert goal.share == pytest.approx(315 / 1000)
    assert goal.actual_per_week == pytest.approx(105)
    assert goal.required_per_week == pytest.approx(685 / 63 * 7)
    assert goal.projection is not None and goal.projection.date == date(2027, 1, 14)


def test_html_shows_goal_status_and_draws_the_goal_on_the_followers_chart(report: Report) -> None:
    html = render_html(report)
    summary = html[html.index('<section id="summary"') : html.index('<section id="followers"')]
    assert 'class="badge on_track">On track' in summary
    assert "Followers at least 2,500 (all platforms, by 2027-01-31)" in summary
    assert "reaches it 2027-01-14" in summary and "Compound (log-linear)" in summary
    chart = html[html.index('<section id="followers"') : html.index('<section id="what-works"')]
    assert "Goal 2,500 (all platforms)" in chart and "Projection (Theil–Sen)" in chart
    assert 'name="viewport"' in html and "@media print" in html and "@media (max-width" in html
    assert "<script" not in html and not re.search(r"""href=["']?javascript:""", html)


def test_markdown_escapes_what_came_from_the_database(report: Report) -> None:
    markdown = render_markdown(report)
    assert markdown.startswith("# さくら内科クリニック — Growth and engagement report")
    assert "- **On track** — Followers at least 2,500" in markdown
    assert not re.search(r"(?<!\\)<script", markdown) and escape(XSS) in markdown
    assert "](javascript:" not in markdown and r"\[evil\]\(javascript:alert\(1\)\)" in markdown
    assert "[open](<https://social.example/@clinic/P9>)" in markdown
    assert "| ja/health\\_tip | 5 |" in markdown
    tables = [line for line in markdown.splitlines() if line.startswith("|")]
    assert all(line.endswith("|") for line in tables)


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_one_csv_with_a_table_column(report: Report) -> None:
    rows = parse(write_csv(report))
    tables = {row["table"] for row in rows}
    assert {"summary", "goals", "accounts", "followers", "what_works", "heatmap"} <= tables
    assert {"cadence", "ranked_posts", "posts", "problem_posts", "gaps_impressions"} <= tables
    (summary,) = [r for r in rows if r["table"] == "summary"]
    assert (summary["net_growth"], summary["growth_rate"]) == ("315", "0.21")
    (goal,) = [r for r in rows if r["table"] == "goals"]
    assert (goal["status"], goal["theil_sen_date"]) == ("on_track", "2027-01-14")
    health = [r for r in rows if r["table"] == "what_works" and r["key"] == "ja/health_tip"]
    assert health[0]["dimension"] == "template" and health[0]["posts"] == "5"
    totals = [r for r in rows if r["table"] == "followers" and r["account"] == "total"]
    assert (totals[0]["day"], totals[0]["followers"]) == ("2026-11-09", "1515")
    ranked = [(r["list"], r["rank"]) for r in rows if r["table"] == "ranked_posts"]
    assert ranked[:2] == [("top", "1"), ("top", "2")] and ranked[-1] == ("bottom", "4")
    assert all(r["list"] == "" for r in rows if r["table"] != "ranked_posts")


def test_a_directory_of_csv_files(report: Report, tmp_path: Path) -> None:
    written = write_csv_dir(report, tmp_path / "out")
    names = {path.name for path in written}
    assert {"summary.csv", "accounts.csv", "goals.csv", "posts.csv", "what_works.csv"} <= names
    accounts = parse((tmp_path / "out" / "accounts.csv").read_text(encoding="utf-8"))
    assert [(a["name"], a["start_followers"], a["end_followers"]) for a in accounts] == [
        ("[evil](javascript:alert(1))", "500", "605"),
        ("masto", "1000", "1210"),
    ]
    assert "table" not in accounts[0]


def test_json_has_every_table_and_the_goals(report: Report) -> None:
    data = json.loads(json.dumps(report_to_dict(report), ensure_ascii=False))
    assert data["schema_version"] == 2
    assert data["goals"][0]["status"] == "on_track"
    assert data["goals"][0]["projections"][0]["date"] == "2027-01-14"
    for key in (
        "by_category",
        "by_language",
        "by_length",
        "heatmap",
        "gaps",
        "followers_over_time",
    ):
        assert key in data


def test_the_terminal_shows_goals(report: Report) -> None:
    text = render_plain(report)
    assert "[On track] Followers at least 2,500" in text
    assert "Needs +76.1 a week; actual +105.0 a week" in text


# --- the command line -------------------------------------------------------------------------


@pytest.fixture
def home(capsys: pytest.CaptureFixture[str], clean_environ: Path) -> Path:
    assert main(["init", "--name", "Clinic", "--locale", "en"]) == 0
    engine = make_engine(f"sqlite:///{clean_environ / 'brandkit.db'}")
    with session_scope(engine) as session:
        b = Builder(session, Seeded(1))
        b.account("masto", "mastodon", 1)
        for day in range(8, 30):
            b.snapshot("masto", jst(day, 21), 1000 + 10 * day)
        b.variant("P1", "masto", "ja/health_tip", jst(10, 12), counters=likes(20))
    engine.dispose()
    capsys.readouterr()
    return clean_environ


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["report", "--period", "2026-11", *args])
    return code, capsys.readouterr().out


def test_report_formats_from_the_command_line(
    capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    code, out = run(capsys, "--format", "md")
    assert code == 0 and "## What works" in out and "health\\_tip" in out  # its category
    code, out = run(capsys, "--format", "csv")
    assert code == 0 and out.startswith("table,") and "\nposts," in out
    code, out = run(capsys, "--format", "csv", "--out", str(home / "tables"))
    assert code == 0 and (home / "tables" / "what_works.csv").exists()
    code, out = run(capsys, "--format", "json")
    assert code == 0 and json.loads(out)["posts"][0]["category"] == "health_tip"
    code, out = run(capsys, "--format", "html", "--out", str(home / "r.html"))
    assert code == 0 and re.search(r"<svg", (home / "r.html").read_text(encoding="utf-8"))
    assert main(["report", "--period", "2026-11", "--profile", "nobody"]) == 66


def test_the_weekly_report_file_for_the_worker(engine: Engine, tmp_path: Path) -> None:
    seeded = seed(engine)
    assert previous_week(date(2026, 11, 23)) == (date(2026, 11, 16), date(2026, 11, 23))
    assert previous_week(date(2026, 11, 29)) == (date(2026, 11, 16), date(2026, 11, 23))
    now = jst(25, 7)  # a Wednesday morning: last week is Nov 16–22
    path = write_weekly_report(engine, seeded.workspace_id, tmp_path / "reports", now=now)
    assert path == tmp_path / "reports" / "report-2026-W47.html"
    html = path.read_text(encoding="utf-8")
    assert "2026-11-16 – 2026-11-22" in html and "<svg" in html
    again = write_weekly_report(engine, seeded.workspace_id, tmp_path / "reports", now=now)
    assert again == path and sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_categories_come_from_front_matter_and_a_user_template_wins(tmp_path: Path) -> None:
    mine = tmp_path / "templates" / "ja"
    mine.mkdir(parents=True)
    (mine / "health_tip.j2").write_text(
        "---\ntitle: t\ncategory: my_tips\nlanguage: ja\nplatforms: [mastodon]\n---\nx\n",
        encoding="utf-8",
    )
    (mine / "broken.j2").write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")
    found = template_categories([tmp_path / "templates"])
    assert found["ja/health_tip"] == "my_tips" and found["en/health_tip"] == "health_tip"
    assert "ja/broken" not in found and len(found) >= 52


@pytest.mark.parametrize(
    "args",
    [
        ["--period", "9999-12"],
        ["--period", "0001-01"],
        ["--from", "2026-01-01", "--to", "9999-12-31"],
        ["--from", "0001-01-01", "--to", "2026-01-01"],
    ],
)
def test_a_period_outside_the_calendar_is_a_clear_error(
    args: list[str], capsys: pytest.CaptureFixture[str], clean_environ: Path
) -> None:
    assert main(["init", "--name", "clinic"]) == 0
    code = main(["report", *args, "--format", "text"])
    err = capsys.readouterr().err
    assert code == 65, err
    assert "outside the years" in err and "internal error" not in err
