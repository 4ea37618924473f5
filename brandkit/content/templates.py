"""The post-template library: ``templates/<lang>/<name>.j2`` files with a YAML front matter.

Rendering is always sandboxed (``SandboxedEnvironment``) with ``StrictUndefined``, so a template
edited by marketing staff can neither reach into Python objects nor silently print an empty
variable. Errors name the file and line to fix.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import jinja2
import yaml
from jinja2.sandbox import SandboxedEnvironment

from brandkit.content.filters import FILTERS
from brandkit.errors import NotFoundError, TemplateError

FRONT_MATTER_FENCE = "---"
BUILTIN_DIRS = (
    Path(__file__).resolve().parents[1] / "builtin_templates",  # inside a wheel
    Path(__file__).resolve().parents[2] / "templates",  # a source checkout / editable install
)


@dataclass(frozen=True)
class TemplateVariable:
    name: str
    type: str = "str"
    required: bool = True
    description: str = ""
    example: Any = None


@dataclass(frozen=True)
class PostTemplate:
    """One template file, parsed: its front matter and its Jinja2 body."""

    name: str
    path: Path
    title: str
    description: str
    category: str
    language: str
    platforms: tuple[str, ...]
    variables: tuple[TemplateVariable, ...]
    hashtags: tuple[str, ...]
    readability_target: str
    body: str
    body_first_line: int
    meta: Mapping[str, Any] = field(default_factory=dict)

    @cached_property
    def content_hash(self) -> str:
        """Identifies the exact text a post was drafted from, for reports and audits."""
        return hashlib.sha256(self.path.read_bytes()).hexdigest()[:16]

    def example_variables(self) -> dict[str, Any]:
        return {v.name: v.example for v in self.variables if v.example is not None}


def builtin_template_dir() -> Path:
    for candidate in BUILTIN_DIRS:
        if candidate.is_dir():
            return candidate
    raise TemplateError("the built-in template library is missing from this installation")


class TemplateLibrary:
    """Templates from user directories first, then the built-in library."""

    def __init__(self, dirs: Sequence[Path] = (), *, include_builtin: bool = True) -> None:
        self.dirs = [*dirs, *([builtin_template_dir()] if include_builtin else [])]
        self._env = SandboxedEnvironment(
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # posts are plain text; HTML reports escape separately
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters.update(FILTERS)
        self._cache: dict[Path, PostTemplate] = {}

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
                    return self._load(path)
        raise NotFoundError("template", name, hint="list them with 'brandkit templates list'")

    def _load(self, path: Path) -> PostTemplate:
        cached = self._cache.get(path)
        if cached is None:
            cached = self._cache[path] = parse_template_file(path)
        return cached

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
        missing = [v.name for v in template.variables if v.required and v.name not in variables]
        if missing:
            raise TemplateError(
                f"missing variable {missing[0]!r}"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
                path=str(template.path),
                hint="pass it with --var NAME=VALUE or add it to the topic",
            )
        source = "\n" * (template.body_first_line - 1) + template.body
        try:
            compiled = self._env.from_string(source)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                exc.message or "syntax error", path=str(template.path), line=exc.lineno
            ) from exc
        values = {
            **dict(context or {}),
            **dict(variables),
            "platform": platform,
            "hashtags": list(template.hashtags),
            "template": {"name": template.name, "title": template.title},
        }
        try:
            return compiled.render(values).strip()
        except jinja2.UndefinedError as exc:
            raise TemplateError(
                f"undefined variable: {exc.message}",
                path=str(template.path),
                line=_error_line(exc),
                hint="pass it with --var NAME=VALUE or declare it in the front matter",
            ) from exc
        except jinja2.TemplateError as exc:
            raise TemplateError(str(exc), path=str(template.path), line=_error_line(exc)) from exc


def _error_line(exc: BaseException) -> int | None:
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def parse_template_file(path: Path) -> PostTemplate:
    """Split a ``.j2`` file into front matter and body and validate the front matter."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TemplateError(f"not valid UTF-8 (byte {exc.start})", path=str(path)) from exc
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != FRONT_MATTER_FENCE:
        raise TemplateError(
            "must start with a '---' YAML front matter block", path=str(path), line=1
        )
    try:
        end = next(i for i, line in enumerate(lines[1:], 1) if line.strip() == FRONT_MATTER_FENCE)
    except StopIteration:
        raise TemplateError("front matter is not closed with '---'", path=str(path)) from None
    try:
        meta = yaml.safe_load("".join(lines[1:end])) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise TemplateError(
            f"front matter is not valid YAML: {exc}",
            path=str(path),
            line=(mark.line + 2) if mark else None,
        ) from exc
    if not isinstance(meta, dict):
        raise TemplateError("front matter must be a YAML mapping", path=str(path), line=2)

    def field_(key: str, kind: type, default: Any = None, required: bool = False) -> Any:
        value = meta.get(key, default)
        if value is None and required:
            raise TemplateError(f"front matter field {key!r} is required", path=str(path))
        if value is not None and not isinstance(value, kind):
            raise TemplateError(
                f"front matter field {key!r} must be a {kind.__name__}, not {value!r}",
                path=str(path),
            )
        return value

    variables = []
    for index, item in enumerate(field_("variables", list, [])):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise TemplateError(
                f"front matter field 'variables[{index}]' needs a 'name'", path=str(path)
            )
        variables.append(
            TemplateVariable(
                name=item["name"],
                type=str(item.get("type", "str")),
                required=bool(item.get("required", True)),
                description=str(item.get("description", "")),
                example=item.get("example"),
            )
        )
    language = field_("language", str, path.parent.name)
    return PostTemplate(
        name=f"{path.parent.name}/{path.stem}",
        path=path,
        title=field_("title", str, required=True),
        description=field_("description", str, ""),
        category=field_("category", str, required=True),
        language=language,
        platforms=tuple(field_("platforms", list, [])),
        variables=tuple(variables),
        hashtags=tuple(str(h) for h in field_("hashtags", list, [])),
        readability_target=str(field_("readability_target", str, "general")),
        body="".join(lines[end + 1 :]),
        body_first_line=end + 2,
        meta=meta,
    )
