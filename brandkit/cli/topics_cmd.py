"""``brandkit topics``: the topic backlog that fills planned posts with real content."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from brandkit.cli.output import emit_json, emit_table
from brandkit.cli.state import console, state
from brandkit.content import TemplateLibrary
from brandkit.db.engine import session_scope
from brandkit.planner.backlog import import_topics, list_topics
from brandkit.planner.topic_files import read_topics
from brandkit.workspace import current_workspace

app = typer.Typer(help="The topic backlog: import, list.", no_args_is_help=True)


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A .csv (UTF-8) or .yaml file of topics.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Add topics from CSV or YAML; importing the same file again adds nothing twice.

    CSV columns: topic, category, template, language, priority, not_before, evergreen, and
    var.NAME for template variables. Every row is checked before any is stored.

    Example: brandkit topics import topics.csv
    """
    st = state(ctx)
    settings = st.settings()
    rows = read_topics(file)
    with session_scope(st.engine()) as session:
        workspace = current_workspace(session)
        report = import_topics(session, TemplateLibrary(settings.template_dirs), workspace, rows)
    if as_json:
        emit_json({"file": str(file), **asdict(report)})
        return
    console.print(
        f"{file.name}: {report.added} topic(s) added, {report.updated} updated, "
        f"{report.unchanged} already in the backlog."
    )


@app.command("list")
def list_(
    ctx: typer.Context,
    show_all: Annotated[bool, typer.Option("--all", help="Include topics already used.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the backlog in the order the planner takes it: priority first.

    Example: brandkit topics list --all --json
    """
    st = state(ctx)
    with session_scope(st.engine()) as session:
        workspace = current_workspace(session)
        rows: list[dict[str, Any]] = [
            {
                "id": t.id,
                "topic": t.title,
                "category": t.category,
                "template": t.template,
                "language": t.language,
                "priority": t.priority,
                "not_before": t.not_before,
                "evergreen": t.evergreen,
                "variables": t.variables,
                "used_at": t.used_at,
                "used_by_post": t.used_by_post_id,
            }
            for t in list_topics(session, workspace, include_used=show_all)
        ]
    if as_json:
        emit_json(rows)
        return
    emit_table(
        "Topic backlog",
        ["id", "priority", "topic", "template / category", "lang", "not before", "used"],
        [
            [
                r["id"],
                r["priority"],
                r["topic"],
                r["template"] or r["category"],
                r["language"],
                r["not_before"] or "",
                ("evergreen" if r["evergreen"] else "")
                + (f" post {r['used_by_post']}" if r["used_by_post"] else ""),
            ]
            for r in rows
        ],
    )
    if not rows:
        console.print("The backlog is empty: add topics with 'brandkit topics import FILE'.")
