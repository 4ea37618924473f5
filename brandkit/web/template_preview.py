"""Rendering a template's *unsaved* source for every platform it claims, as the editor shows it.

The source is parsed and rendered exactly as a saved template would be: it is written to a
private temporary folder as ``<lang>/<name>.j2`` and loaded by a
:class:`~brandkit.content.TemplateLibrary` over that folder alone, so the front matter is
validated by the same parser and the body runs in the same sandboxed Jinja2 environment
(``StrictUndefined``, the same filters and blocks). It is rendered with the template's example
variables and stand-in clinic details, then checked like ``brandkit templates lint`` does:
length in the platform's own unit, compliance, privacy and readability.

Nothing here touches the database or the workspace's files; saving is
:mod:`brandkit.web.template_store`.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brandkit.content import PostTemplate, TemplateLibrary
from brandkit.content.lint import check_for_lint, lint_platforms, render_for_lint
from brandkit.errors import BrandkitError, InvalidInputError

MAX_SOURCE = 100_000  # characters; the built-in templates are under 3,000
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})?$")
STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")


def template_name(lang: str, stem: str) -> str:
    """``lang/stem`` from the two parts of an editor URL, refused unless both are plain names."""
    if not LANGUAGE.match(lang) or not STEM.match(stem):
        raise InvalidInputError(
            f"{lang}/{stem!r} is not a template name",
            hint="template names are like ja/health_tip: a language folder and a file name",
        )
    return f"{lang}/{stem}"


def normalise_source(source: str) -> str:
    """The text as it is saved: browsers send CRLF from a textarea; files use LF."""
    text = source.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise InvalidInputError("the template is empty")
    if len(text) > MAX_SOURCE:
        raise InvalidInputError(f"the template is longer than {MAX_SOURCE:,} characters")
    return text if text.endswith("\n") else text + "\n"


@dataclass(frozen=True)
class PlatformPreview:
    """One platform's rendering: its text, length and findings, or the error that stopped it."""

    platform: str
    text: str | None = None
    length: int | None = None
    limit: int | None = None
    fits: bool = False
    findings: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    line: int | None = None

    @property
    def lint_errors(self) -> list[str]:
        """What ``templates lint`` counts as errors: the render error, or error findings."""
        if self.error is not None:
            return [self.error]
        return [_lint_line(f) for f in self.findings if f["severity"] == "error"]

    @property
    def lint_warnings(self) -> list[str]:
        return [_lint_line(f) for f in self.findings if f["severity"] != "error"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "text": self.text,
            "length": self.length,
            "limit": self.limit,
            "fits": self.fits,
            "over": self.length is not None and self.limit is not None and self.length > self.limit,
            "findings": self.findings,
            "error": self.error,
            "line": self.line,
        }


@dataclass(frozen=True)
class Preview:
    """The whole template: an error that stops every platform, or one preview per platform."""

    name: str
    error: str | None = None
    line: int | None = None
    platforms: list[PlatformPreview] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)

    @property
    def renders(self) -> bool:
        """Parses and renders on every platform it claims: the condition for saving."""
        return self.error is None and all(p.error is None for p in self.platforms)

    @property
    def first_error(self) -> str | None:
        """The first reason it does not render, with the platform and line where known."""
        if self.error is not None:
            return _at_line(self.error, self.line)
        for p in self.platforms:
            if p.error is not None:
                return f"{p.platform}: {_at_line(p.error, p.line)}"
        return None

    def lint(self) -> list[dict[str, Any]]:
        """The results ``brandkit templates lint --json`` gives for this source."""
        if self.error is not None:
            return [
                {
                    "template": self.name,
                    "platform": None,
                    "ok": False,
                    "errors": [_at_line(self.error, self.line)],
                    "warnings": [],
                }
            ]
        return [
            {
                "template": self.name,
                "platform": p.platform,
                "ok": not p.lint_errors,
                "errors": p.lint_errors,
                "warnings": p.lint_warnings,
            }
            for p in self.platforms
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "renders": self.renders,
            "error": self.error,
            "line": self.line,
            "first_error": self.first_error,
            "platforms": [p.as_dict() for p in self.platforms],
        }


def preview_source(name: str, source: str) -> Preview:
    """Parse ``source`` as the template ``name`` (``lang/stem``) and render it everywhere."""
    lang, _, stem = name.partition("/")
    with tempfile.TemporaryDirectory(prefix="brandkit-preview-") as folder:
        path = Path(folder) / lang / f"{stem}.j2"
        path.parent.mkdir()
        path.write_text(source, encoding="utf-8")
        library = TemplateLibrary([Path(folder)], include_builtin=False)
        try:
            template = library.load(path)
        except BrandkitError as exc:
            return Preview(name, error=_message(exc, path), line=getattr(exc, "line", None))
        variables = template.example_variables()
        previews = [
            _render_one(library, template, platform, variables, path)
            for platform in lint_platforms(template)
        ]
    return Preview(name, platforms=previews, variables=variables)


def _render_one(
    library: TemplateLibrary,
    template: PostTemplate,
    platform: str,
    variables: dict[str, Any],
    path: Path,
) -> PlatformPreview:
    try:
        text = render_for_lint(library, template, platform, variables)
        result = check_for_lint(text, template, platform)
    except BrandkitError as exc:
        return PlatformPreview(platform, error=_message(exc, path), line=getattr(exc, "line", None))
    findings = [
        {**f.as_dict(), "quote": text[f.start : f.end], "excerpt": excerpt(text, f.start, f.end)}
        for f in result.findings
    ]
    return PlatformPreview(
        platform,
        text=text,
        length=result.length,
        limit=result.limit,
        fits=result.fits,
        findings=findings,
    )


def _message(exc: BrandkitError, path: Path) -> str:
    """The error without the temporary file's name (the line is kept apart)."""
    text = str(exc)
    where = getattr(exc, "path", None)
    line = getattr(exc, "line", None)
    for prefix in (f"{where}:{line}: ", f"{where}: "):
        if where and text.startswith(prefix):
            text = text.removeprefix(prefix)
            break
    return text.replace(str(path), path.name)


def _at_line(message: str, line: int | None) -> str:
    return f"line {line}: {message}" if line else message


def _lint_line(finding: dict[str, Any]) -> str:
    return f"{finding['rule']}: {finding['message']} «{finding['quote']}»"


def excerpt(text: str, start: int, end: int, *, limit: int = 60) -> str:
    """The words a finding is about, to quote beside it: none when it is about the whole text
    (its length, its readability), shortened when long."""
    if start <= 0 and end >= len(text.rstrip()):
        return ""
    words = text[max(start, 0) : max(end, 0)]
    return words if len(words) <= limit else words[:limit] + "…"
