"""The post-template library: find templates, compile them once, render them per platform.

Rendering is always sandboxed (``SandboxedEnvironment``) with ``StrictUndefined``, so a template
edited by marketing staff can neither reach into Python objects nor silently print an empty
variable. A template may hold per-platform forms as blocks (``{% block short %}`` for X and
Bluesky, ``{% block long %}`` for LinkedIn and Facebook, or a block named after a platform);
everything else renders ``{% block default %}`` — or the whole body when it has no blocks.
Errors name the file and line to fix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from brandkit.content.filters import FILTERS
from brandkit.content.frontmatter import PostTemplate, TemplateVariable, parse_template_file
from brandkit.errors import NotFoundError, TemplateError

DEFAULT_BLOCK = "default"
BUILTIN_DIRS = (
    Path(__file__).resolve().parents[1] / "builtin_templates",  # inside a wheel
    Path(__file__).resolve().parents[2] / "templates",  # a source checkout / editable install
)

__all__ = ["PostTemplate", "TemplateLibrary", "TemplateVariable", "builtin_template_dir"]


def builtin_template_dir() -> Path:
    for candidate in BUILTIN_DIRS:
        if candidate.is_dir():
            return candidate
    raise TemplateError("the built-in template library is missing from this installation")


def make_environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # posts are plain text; HTML reports escape separately
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    return env


class TemplateLibrary:
    """Templates from user directories first, then the built-in library."""

    def __init__(self, dirs: Sequence[Path] = (), *, include_builtin: bool = True) -> None:
        self.dirs = [*dirs, *([builtin_template_dir()] if include_builtin else [])]
        self._env = make_environment()
        self._parsed: dict[Path, PostTemplate] = {}
        self._compiled: dict[Path, jinja2.Template] = {}

    def names(self) -> list[str]:
        """Every template as ``lang/name``; a user template hides a built-in of the same name."""
        found: dict[str, Path] = {}
        for directory in self.dirs:
            for path in sorted(directory.glob("*/*.j2")):
                found.setdefault(f"{path.parent.name}/{path.stem}", path)
        return sorted(found)

    def all(self) -> list[PostTemplate]:
        return [self.get(name) for name in self.names()]

    def get(self, name: str, language: str | None = None) -> PostTemplate:
        """Find ``name`` (``lang/name``, or ``name`` with ``language``)."""
        lang, _, stem = name.rpartition("/")
        lang = lang or language or ""
        candidates = [f"{lang}/{stem}"] if lang else [f"ja/{stem}", f"en/{stem}"]
        for directory in self.dirs:
            for candidate in candidates:
                path = directory / f"{candidate}.j2"
                if path.is_file():
                    return self.load(path)
        raise NotFoundError("template", name, hint="list them with 'brandkit templates list'")

    def load(self, path: Path) -> PostTemplate:
        """Parse and compile one file (once); syntax errors surface here with their line."""
        parsed = self._parsed.get(path)
        if parsed is None:
            parsed = parse_template_file(path)
            self._compiled[path] = self._compile(parsed)
            self._parsed[path] = parsed
        return parsed

    def _compile(self, template: PostTemplate) -> jinja2.Template:
        source = "\n" * (template.body_first_line - 1) + template.body
        try:
            compiled = self._env.from_string(source)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                exc.message or "syntax error", path=str(template.path), line=exc.lineno
            ) from exc
        if compiled.blocks and DEFAULT_BLOCK not in compiled.blocks:
            raise TemplateError(
                f"has blocks ({', '.join(compiled.blocks)}) but no "
                f"'{{% block {DEFAULT_BLOCK} %}}' for the other platforms",
                path=str(template.path),
            )
        return compiled

    def variables_for(self, template: PostTemplate, given: Mapping[str, Any]) -> dict[str, Any]:
        """Check required variables are present and coerce each to its declared type."""
        missing = [v.name for v in template.variables if v.required and v.name not in given]
        if missing:
            more = (
                f" (and {len(missing) - 1} more: {', '.join(missing[1:])})" if missing[1:] else ""
            )
            raise TemplateError(
                f"missing variable {missing[0]!r}{more}",
                path=str(template.path),
                hint="pass it with --var NAME=VALUE or add it to the topic",
            )
        declared = {v.name: v for v in template.variables}
        return {
            key: declared[key].coerce(value, template.name) if key in declared else value
            for key, value in given.items()
        }

    def render(
        self,
        template: PostTemplate,
        variables: Mapping[str, Any],
        *,
        platform: str,
        context: Mapping[str, Any] | None = None,
    ) -> str:
        """Render ``template`` for ``platform``; the result is stripped of outer whitespace."""
        if template.platforms and platform not in template.platforms:
            raise TemplateError(
                f"does not support platform {platform!r}",
                path=str(template.path),
                hint=f"supported platforms: {', '.join(template.platforms)}",
            )
        compiled = self._compiled.get(template.path) or self._compiled_for(template)
        values = {
            **dict(context or {}),
            **self.variables_for(template, variables),
            "platform": platform,
            "hashtags": list(template.hashtags),
            "template": {"name": template.name, "title": template.title},
        }
        block = self._block_for(compiled, template, platform)
        # a block is called directly, so Jinja does not rewrite its traceback to template lines
        raw = compiled if block is not None else None
        try:
            if block is None:
                return compiled.render(values).strip()
            return "".join(compiled.blocks[block](compiled.new_context(values))).strip()
        except jinja2.UndefinedError as exc:
            raise TemplateError(
                f"undefined variable: {exc.message}",
                path=str(template.path),
                line=_error_line(exc, raw),
                hint="pass it with --var NAME=VALUE or declare it in the front matter",
            ) from exc
        except jinja2.TemplateError as exc:
            raise TemplateError(
                str(exc), path=str(template.path), line=_error_line(exc, raw)
            ) from exc
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise TemplateError(
                f"{type(exc).__name__}: {exc}", path=str(template.path), line=_error_line(exc, raw)
            ) from exc

    def _compiled_for(self, template: PostTemplate) -> jinja2.Template:
        self._compiled[template.path] = compiled = self._compile(template)
        return compiled

    @staticmethod
    def _block_for(compiled: jinja2.Template, template: PostTemplate, platform: str) -> str | None:
        if not compiled.blocks:
            return None
        if platform in compiled.blocks:
            return platform
        form = template.form_for(platform)
        return form if form in compiled.blocks else DEFAULT_BLOCK


def _error_line(exc: BaseException, raw: jinja2.Template | None = None) -> int | None:
    """The template line the error came from, found in the traceback Jinja rewrote.

    ``raw`` is the template whose compiled code raised without that rewrite (a block called
    directly): its Python line is mapped back to the template's line.
    """
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    if line is not None and raw is not None:
        return raw.get_corresponding_lineno(line)
    return line
