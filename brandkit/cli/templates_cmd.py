"""``brandkit templates``: browse the template library and preview a rendered post."""

from __future__ import annotations

from typing import Annotated

import typer

from brandkit.cli.output import emit_json, emit_table
from brandkit.cli.state import console, state
from brandkit.content import TemplateLibrary, check
from brandkit.errors import InvalidInputError

app = typer.Typer(help="The post-template library: list, show, preview.", no_args_is_help=True)


def parse_vars(pairs: list[str] | None) -> dict[str, str]:
    """``--var key=value`` pairs; a pair without '=' is a usage error naming it."""
    values: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(
                f"--var {pair!r} is not KEY=VALUE", hint="e.g. --var topic=睡眠"
            )
        values[key.strip()] = value
    return values


def _library(ctx: typer.Context) -> TemplateLibrary:
    return TemplateLibrary(state(ctx).settings().template_dirs)


@app.command("list")
def list_(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List every template with its category, language and platforms.

    Example: brandkit templates list --json
    """
    templates = _library(ctx).all()
    rows = [
        {
            "name": t.name,
            "title": t.title,
            "category": t.category,
            "language": t.language,
            "platforms": list(t.platforms),
            "path": str(t.path),
        }
        for t in templates
    ]
    if as_json:
        emit_json(rows)
        return
    emit_table(
        "Templates",
        ["name", "title", "category", "platforms"],
        [[r["name"], r["title"], r["category"], ", ".join(r["platforms"])] for r in rows],
    )


@app.command("show")
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Template name, e.g. ja/health_tip.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a template's front matter, variables and source.

    Example: brandkit templates show ja/seasonal_alert
    """
    t = _library(ctx).get(name)
    data = {
        "name": t.name,
        "title": t.title,
        "description": t.description,
        "category": t.category,
        "language": t.language,
        "platforms": list(t.platforms),
        "hashtags": list(t.hashtags),
        "path": str(t.path),
        "variables": [
            {
                "name": v.name,
                "type": v.type,
                "required": v.required,
                "description": v.description,
                "example": v.example,
            }
            for v in t.variables
        ],
        "body": t.body,
    }
    if as_json:
        emit_json(data)
        return
    console.print(f"[bold]{t.name}[/] — {t.title} ({t.category}, {t.language})")
    console.print(t.description)
    for v in t.variables:
        console.print(
            f"  {v.name} ({v.type}{', required' if v.required else ''}): "
            f"{v.description}  e.g. {v.example}"
        )
    console.rule()
    console.print(t.body, markup=False, highlight=False)


@app.command("preview")
def preview(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Template name, e.g. ja/health_tip.")],
    platform: Annotated[str, typer.Option(help="Platform to render for.")] = "mastodon",
    var: Annotated[
        list[str] | None,
        typer.Option("--var", help="KEY=VALUE (repeatable); defaults to the template's examples."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Render a template for a platform and check the result.

    Example: brandkit templates preview ja/health_tip --var topic=睡眠
    """
    st = state(ctx)
    library = _library(ctx)
    template = library.get(name)
    variables = {**template.example_variables(), **parse_vars(var)}
    context = {"clinic": "(clinic)", "doctor": "(doctor)", "locale": st.settings().locale}
    text = library.render(template, variables, platform=platform, context=context)
    result = check(text, platform=platform, lang=template.language)
    if as_json:
        emit_json({"text": text, **result.as_dict()})
        return
    console.print(text, markup=False, highlight=False)
    console.rule()
    console.print(
        f"{result.length}/{result.limit} on {platform}"
        + ("" if result.fits else " [red](too long)[/]")
    )
    for f in result.findings:
        console.print(f"  {f.severity}: {f.rule} — {f.message}", markup=False)
