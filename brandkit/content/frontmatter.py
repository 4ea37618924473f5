"""Template files: the YAML front matter, its validation, and typed template variables.

A template is ``templates/<lang>/<name>.j2``::

    ---
    title: 健康ワンポイント
    category: health_tip
    platforms: [mastodon, x, bluesky, linkedin]
    variables:
      - {name: topic, type: str, description: テーマ, example: 睡眠}
    hashtags: [健康]
    readability_target: general        # general | patient | professional
    forms: {short: [x, bluesky], long: [linkedin, facebook]}   # optional
    ---
    {% block default %}…{% endblock %}
    {% block short %}…{% endblock %}    # optional per-platform forms

Every problem is reported with the file (and line where YAML knows it) and the field to fix.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from brandkit.errors import TemplateError

_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML was built with it: the same documents, parsed about five
times faster (the report reads every template's front matter for the categories)."""

FRONT_MATTER_FENCE = "---"
VARIABLE_TYPES = ("str", "int", "date", "list", "url")
READABILITY_TARGETS = ("patient", "general", "professional")
DEFAULT_FORMS: Mapping[str, tuple[str, ...]] = {
    "short": ("x", "bluesky"),
    "long": ("linkedin", "facebook"),
}


@dataclass(frozen=True)
class TemplateVariable:
    name: str
    type: str = "str"
    required: bool = True
    description: str = ""
    example: Any = None

    def coerce(self, value: Any, template: str) -> Any:
        """Turn a value (often a ``--var`` string) into the declared type, or say why not."""
        try:
            if self.type == "int":
                if isinstance(value, bool):
                    raise ValueError(value)
                return int(value)
            if self.type == "date":
                return value if isinstance(value, date) else date.fromisoformat(str(value))
            if self.type == "list":
                if isinstance(value, list | tuple):
                    return [str(v) for v in value]
                return [part.strip() for part in str(value).split(",") if part.strip()]
            if self.type == "url" and not str(value).startswith(("https://", "http://")):
                raise ValueError(value)
            return str(value)
        except (TypeError, ValueError) as exc:
            raise TemplateError(
                f"variable {self.name!r} = {value!r} is not a valid {self.type}",
                template=template,
                hint=self.description or None,
            ) from exc


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
    forms: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)

    @cached_property
    def content_hash(self) -> str:
        """Identifies the exact text a post was drafted from, for reports and audits."""
        return hashlib.sha256(self.path.read_bytes()).hexdigest()[:16]

    def example_variables(self) -> dict[str, Any]:
        return {v.name: v.example for v in self.variables if v.example is not None}

    def form_for(self, platform: str) -> str | None:
        """The named form a platform renders (``short``, ``long``…), if the template has one."""
        for form, platforms in self.forms.items():
            if platform in platforms:
                return form
        return None


def parse_template_file(path: Path) -> PostTemplate:
    """Split a ``.j2`` file into front matter and body and validate the front matter."""
    where = str(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TemplateError(f"not valid UTF-8 (byte {exc.start})", path=where) from exc
    except OSError as exc:
        raise TemplateError(f"cannot read: {exc.strerror}", path=where) from exc
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != FRONT_MATTER_FENCE:
        raise TemplateError("must start with a '---' YAML front matter block", path=where, line=1)
    end = next((i for i, ln in enumerate(lines[1:], 1) if ln.strip() == FRONT_MATTER_FENCE), None)
    if end is None:
        raise TemplateError("the front matter is not closed with '---'", path=where)
    try:
        meta = yaml.load("".join(lines[1:end]), Loader=_YAML_LOADER) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise TemplateError(
            f"front matter is not valid YAML: {getattr(exc, 'problem', exc)}",
            path=where,
            line=(mark.line + 2) if mark else None,
        ) from exc
    if not isinstance(meta, dict):
        raise TemplateError("the front matter must be a YAML mapping", path=where, line=2)
    fields = _Fields(meta, where)
    language = fields.get("language", str, path.parent.name)
    platforms = tuple(fields.get("platforms", list, []))
    return PostTemplate(
        name=f"{path.parent.name}/{path.stem}",
        path=path,
        title=fields.get("title", str, required=True),
        description=fields.get("description", str, ""),
        category=fields.get("category", str, required=True),
        language=language,
        platforms=platforms,
        variables=_variables(fields.get("variables", list, []), where),
        hashtags=tuple(str(h) for h in fields.get("hashtags", list, [])),
        readability_target=_choice(fields, "readability_target", READABILITY_TARGETS, "general"),
        body="".join(lines[end + 1 :]),
        body_first_line=end + 2,
        forms=_forms(fields.get("forms", dict, None), where),
        meta=meta,
    )


class _Fields:
    """Typed access to front-matter fields, with errors that name the file and the field."""

    def __init__(self, meta: Mapping[str, Any], where: str) -> None:
        self.meta = meta
        self.where = where

    def get(self, key: str, kind: type, default: Any = None, *, required: bool = False) -> Any:
        value = self.meta.get(key, default)
        if value is None and required:
            raise TemplateError(f"front matter field {key!r} is required", path=self.where)
        if value is not None and not isinstance(value, kind):
            raise TemplateError(
                f"front matter field {key!r} must be a {kind.__name__}, not {value!r}",
                path=self.where,
            )
        return value


def _choice(fields: _Fields, key: str, allowed: tuple[str, ...], default: str) -> str:
    value = str(fields.get(key, str, default))
    if value not in allowed:
        raise TemplateError(
            f"front matter field {key!r} is {value!r}",
            path=fields.where,
            hint=f"use one of: {', '.join(allowed)}",
        )
    return value


def _variables(items: list[Any], where: str) -> tuple[TemplateVariable, ...]:
    variables = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise TemplateError(
                f"front matter field 'variables[{index}]' needs a 'name'", path=where
            )
        kind = str(item.get("type", "str"))
        if kind not in VARIABLE_TYPES:
            raise TemplateError(
                f"front matter field 'variables[{index}].type' is {kind!r}",
                path=where,
                hint=f"use one of: {', '.join(VARIABLE_TYPES)}",
            )
        variables.append(
            TemplateVariable(
                name=item["name"],
                type=kind,
                required=bool(item.get("required", True)),
                description=str(item.get("description", "")),
                example=item.get("example"),
            )
        )
    return tuple(variables)


def _forms(value: dict[str, Any] | None, where: str) -> Mapping[str, tuple[str, ...]]:
    if value is None:
        return dict(DEFAULT_FORMS)
    forms = {}
    for form, platforms in value.items():
        if not isinstance(platforms, list) or not all(isinstance(p, str) for p in platforms):
            raise TemplateError(
                f"front matter field 'forms.{form}' must be a list of platforms", path=where
            )
        forms[str(form)] = tuple(platforms)
    return forms
