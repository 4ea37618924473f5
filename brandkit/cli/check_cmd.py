"""``brandkit check``: is this text fit to post on that platform? Length, law, privacy, ease.

Exit status: 0 clean, 1 when anything is an error or does not fit, 2 on bad usage (including a
malformed ``--jsonl`` line, which is reported on its own output line and does not stop the batch).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from brandkit.cli.output import emit_json
from brandkit.cli.state import console
from brandkit.content import CheckResult, check
from brandkit.content.length import RULES
from brandkit.errors import InvalidInputError

EXIT_FINDINGS = 1
EXIT_USAGE = 2
LANGS = ("ja", "en", "auto")


def _platform(value: str) -> str:
    if value not in RULES:
        raise InvalidInputError(
            f"--platform {value!r} is not known", hint=f"use one of: {', '.join(sorted(RULES))}"
        )
    return value


def _lang(value: str | None) -> str | None:
    if value is not None and value not in LANGS:
        raise InvalidInputError(f"--lang {value!r} must be one of: {', '.join(LANGS)}")
    return None if value in (None, "auto") else value


def _open(source: str) -> TextIO:
    if source == "-":
        return sys.stdin
    try:
        return Path(source).open(encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot read {source}: {exc.strerror}") from exc


def check_cmd(
    source: Annotated[str, typer.Argument(help="A file with the text, or - for stdin.")] = "-",
    platform: Annotated[str, typer.Option(help="Platform whose rules apply.")] = "mastodon",
    lang: Annotated[str, typer.Option(help="ja, en or auto.")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    jsonl: Annotated[
        bool,
        typer.Option(
            "--jsonl",
            help="Batch: one JSON object per input line "
            "({text, platform?, lang?}); one result per line.",
        ),
    ] = False,
) -> None:
    """Check a draft: length as the platform counts it, medical-advertising and privacy rules,
    readability.

    Example: echo "必ず治ります" | brandkit check --platform x --json
    """
    default_platform = _platform(platform)
    default_lang = _lang(lang)
    with _open(source) as stream:
        if jsonl:
            raise typer.Exit(_batch(stream, default_platform, default_lang))
        try:
            text = stream.read()
        except UnicodeDecodeError as exc:
            raise InvalidInputError(f"{source} is not UTF-8 text (byte {exc.start})") from exc
    result = check(text.strip("\n"), platform=default_platform, lang=default_lang)
    if as_json:
        emit_json(result.as_dict())
    else:
        _show(result)
    if result.has_errors:
        raise typer.Exit(EXIT_FINDINGS)


def _batch(stream: TextIO, platform: str, lang: str | None) -> int:
    worst = 0
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            item = _parse_line(line, number)
            result = check(
                item["text"],
                platform=_platform(item.get("platform", platform)),
                lang=_lang(item.get("lang", lang)),
            )
        except InvalidInputError as exc:
            typer.echo(json.dumps({"line": number, "error": exc.message}, ensure_ascii=False))
            worst = EXIT_USAGE
            continue
        typer.echo(json.dumps({"line": number, **result.as_dict()}, ensure_ascii=False))
        if result.has_errors:
            worst = max(worst, EXIT_FINDINGS)
    return worst


def _parse_line(line: str, number: int) -> dict[str, Any]:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"line {number}: not JSON ({exc.msg})") from exc
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        raise InvalidInputError(f"line {number}: needs an object with a string 'text'")
    return item


def _show(result: CheckResult) -> None:
    fits = "[green]fits[/]" if result.fits else "[red]too long[/]"
    console.print(f"{result.platform}: {result.length}/{result.limit} {fits}")
    for f in result.findings:
        colour = {"error": "red", "warning": "yellow"}.get(f.severity, "blue")
        console.print(f"  [{colour}]{f.severity}[/] {f.rule} [{f.start}:{f.end}] ", end="")
        console.print(f.message, markup=False, highlight=False)
    if result.readability:
        r = result.readability
        console.print(f"  readability ({r.method}): {r.score} — {r.level}")
    if not result.findings:
        console.print("  no findings")
