"""``brandkit templates``: browse the template library and preview a rendered post."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from brandkit.cli.output import emit_json, emit_table
from brandkit.cli.state import console, state
from brandkit.content import PostTemplate, TemplateLibrary, check
from brandkit.content.lint import check_for_lint, lint_platforms, render_for_lint
from brandkit.errors import BrandkitError, InvalidInputError

app = typer.Typer(
    help="The post-template library: list, show, preview, lint.", no_args_is_help=True
)


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


@app.command("lint")
def lint(
    ctx: typer.Context,
    names: Annotated[list[str] | None, typer.Argument(help="Templates (default: all).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Render each template with its example variables for every platform it claims and run
    every check; exits 1 when any has an error.

    Example: brandkit templates lint ja/health_tip en/health_tip
    """
    library = _library(ctx)
    results: list[dict[str, Any]] = []
    for name in names or library.names():
        try:
            template = library.get(name)
        except BrandkitError as exc:
            results.append(
                {
                    "template": name,
                    "platform": None,
                    "ok": False,
                    "errors": [str(exc)],
                    "warnings": [],
                }
            )
            continue
        for platform in lint_platforms(template):
            results.append(_lint_one(library, template, platform))
    failed = [r for r in results if not r["ok"]]
    if as_json:
        emit_json(results)
    else:
        for r in results:
            if r["errors"] or r["warnings"]:
                console.print(f"[bold]{r['template']}[/] on {r['platform']}:")
                for message in r["errors"]:
                    console.print(f"  [red]error[/] {escape(message)}")
                for message in r["warnings"]:
                    console.print(f"  [yellow]warning[/] {escape(message)}")
        console.print(f"{len(results)} render(s) checked, {len(failed)} with errors.")
    if failed:
        raise typer.Exit(1)


def _lint_one(library: TemplateLibrary, template: PostTemplate, platform: str) -> dict[str, Any]:
    errors: list[str] = []
    warnings: list[str] = []
    try:
        text = render_for_lint(library, template, platform)
    except BrandkitError as exc:
        errors.append(str(exc))
    else:
        for f in check_for_lint(text, template, platform).findings:
            target = errors if f.severity == "error" else warnings
            target.append(f"{f.rule}: {f.message} «{text[f.start : f.end]}»")
    return {
        "template": template.name,
        "platform": platform,
        "ok": not errors,
        "errors": errors,
        "warnings": warnings,
    }
