"""Reading a topic backlog from CSV or YAML, with errors that point at the cell to fix.

CSV (UTF-8, as "CSV UTF-8" from Excel or Numbers; the first row names the columns)::

    topic,category,template,language,priority,not_before,evergreen,var.tip,var.reason
    減塩,health_tip,ja/health_tip,ja,5,2026-12-01,false,麺類のスープは半分残しましょう。,…

YAML: a list of mappings with a ``variables`` mapping::

    - topic: 減塩
      category: health_tip
      priority: 5
      variables: {tip: 麺類のスープは半分残しましょう。, reason: …}

Only ``topic`` is required. Which template and category a topic fits is checked against the
template library by :func:`brandkit.planner.backlog.import_topics`; this module only reads.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from brandkit.errors import InvalidInputError, NotFoundError

COLUMNS = ("topic", "category", "template", "language", "priority", "not_before", "evergreen")
YAML_KEYS = (*COLUMNS, "title", "variables")
VAR_PREFIX = "var."
TRUE = {"true", "yes", "y", "1", "on", "はい", "○"}
FALSE = {"false", "no", "n", "0", "off", "いいえ", "×", ""}


@dataclass(frozen=True)
class Location:
    """Where one topic is in its file: a CSV row or a YAML item, and each field's line."""

    file: str
    line: int
    index: int
    csv: bool
    field_lines: Mapping[str, int] = field(default_factory=dict)

    def at(self, name: str | None = None) -> str:
        if self.csv:
            return f"{self.file}, row {self.line}" + (f", column {name}" if name else "")
        line = self.field_lines.get(name or "", self.line)
        return f"{self.file}:{line}: topic {self.index}" + (f", {name}" if name else "")

    def error(self, name: str | None, problem: str, hint: str | None = None) -> InvalidInputError:
        return InvalidInputError(f"{self.at(name)}: {problem}", hint=hint)


@dataclass(frozen=True)
class TopicRow:
    """One topic as the file gives it; empty fields are ``None``."""

    title: str
    location: Location
    category: str | None = None
    template: str | None = None
    language: str | None = None
    priority: int = 0
    not_before: date | None = None
    evergreen: bool = False
    variables: Mapping[str, Any] = field(default_factory=dict)

    def var_field(self, name: str) -> str:
        """How the file names template variable ``name``: ``var.tip`` or ``variables.tip``."""
        return f"{VAR_PREFIX}{name}" if self.location.csv else f"variables.{name}"


def read_topics(path: Path) -> list[TopicRow]:
    """Every topic in a ``.csv``, ``.yaml`` or ``.yml`` file."""
    if not path.is_file():
        raise NotFoundError("file", str(path), hint="give the path of a .csv or .yaml topic file")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".yaml", ".yml"):
        raise InvalidInputError(
            f"{path}: cannot read {suffix or 'a file without extension'} as topics",
            hint="save the backlog as .csv (UTF-8) or .yaml",
        )
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"{path}: not UTF-8 (byte {exc.start})",
            hint="save it as 'CSV UTF-8' (Excel) or UTF-8 text, not Shift_JIS",
        ) from exc
    return _read_csv(path, text) if suffix == ".csv" else _read_yaml(path, text)


def _read_csv(path: Path, text: str) -> list[TopicRow]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [cell.strip() for cell in next(reader)]
    except StopIteration:
        raise InvalidInputError(
            f"{path}: the file is empty", hint="the first row names the columns"
        ) from None
    except csv.Error as exc:
        raise InvalidInputError(f"{path}, row 1: {exc}") from exc
    first = Location(str(path), 1, 0, csv=True)
    for name in header:
        if name not in COLUMNS and not (name.startswith(VAR_PREFIX) and len(name) > 4):
            hint = (
                f"template variables go in var.NAME columns, e.g. var.{name}"
                if name
                else f"columns are {', '.join(COLUMNS)} and var.NAME"
            )
            raise first.error(name or "(empty)", "unknown column", hint)
        if header.count(name) > 1:
            raise first.error(name, "appears twice in the header")
    if "topic" not in header:
        raise first.error(None, "there is no 'topic' column", "add one: it names each topic")
    rows: list[TopicRow] = []
    start = reader.line_num + 1
    try:
        for cells in reader:
            where = Location(str(path), start, len(rows) + 1, csv=True)
            start = reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(header):
                raise where.error(
                    None, f"has {len(cells)} cells but the header names {len(header)}"
                )
            values = dict(zip(header, (c.strip() for c in cells), strict=False))
            variables = {
                k.removeprefix(VAR_PREFIX): v
                for k, v in values.items()
                if k.startswith(VAR_PREFIX) and v
            }
            rows.append(_row(values, variables, where))
    except csv.Error as exc:
        raise InvalidInputError(f"{path}, row {start}: {exc}", hint="check the quotes") from exc
    return rows


def _read_yaml(path: Path, text: str) -> list[TopicRow]:
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return []
        if not isinstance(root, yaml.SequenceNode):
            raise InvalidInputError(
                f"{path}:{root.start_mark.line + 1}: the file must be a list of topics",
                hint="start each topic with '- topic: …'",
            )
        rows = []
        for index, node in enumerate(root.value, start=1):
            where = Location(str(path), node.start_mark.line + 1, index, csv=False)
            if not isinstance(node, yaml.MappingNode):
                raise where.error(None, "must be a mapping such as '- topic: 減塩'")
            lines = {str(k.value): k.start_mark.line + 1 for k, _ in node.value}
            for key, value in node.value:
                if isinstance(value, yaml.MappingNode) and key.value == "variables":
                    lines.update(
                        {f"variables.{k.value}": k.start_mark.line + 1 for k, _ in value.value}
                    )
            where = Location(str(path), where.line, index, csv=False, field_lines=lines)
            item = loader.construct_document(node)
            rows.append(_yaml_row(item, where))
        return rows
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InvalidInputError(f"{path}{line}: not valid YAML: {problem}") from exc
    finally:
        loader.dispose()


def _yaml_row(item: Mapping[Any, Any], where: Location) -> TopicRow:
    for key in item:
        if key not in YAML_KEYS:
            raise where.error(
                str(key),
                "unknown field",
                f"fields are {', '.join(YAML_KEYS)}; put template variables under 'variables:'",
            )
    variables = item.get("variables") or {}
    if not isinstance(variables, Mapping):
        raise where.error("variables", "must be a mapping such as {tip: …, reason: …}")
    clean: dict[str, Any] = {}
    for name, value in variables.items():
        if isinstance(value, Mapping) or value is None:
            raise where.error(f"variables.{name}", f"{value!r} is not a text, number or list")
        clean[str(name)] = _json_value(value)
    values = {k: ("" if v is None else v) for k, v in item.items() if k != "variables"}
    if "title" in values and "topic" not in values:
        values["topic"] = values.pop("title")
    return _row(values, clean, where)


def _json_value(value: Any) -> Any:
    """Dates become ISO text: variables are stored as JSON and coerced again when rendered."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    return value


def _row(values: Mapping[str, Any], variables: dict[str, Any], where: Location) -> TopicRow:
    title = str(values.get("topic", "")).strip()
    if not title:
        raise where.error("topic", "is empty", "every topic needs a short title, e.g. 減塩")
    return TopicRow(
        title=title,
        location=where,
        category=_text(values.get("category")),
        template=_text(values.get("template")),
        language=_language(values.get("language"), where),
        priority=_priority(values.get("priority", ""), where),
        not_before=_date(values.get("not_before", ""), where),
        evergreen=_flag(values.get("evergreen", ""), where),
        variables=variables,
    )


def _text(value: Any) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


def _language(value: Any, where: Location) -> str | None:
    text = _text(value)
    if text is not None and text not in ("ja", "en"):
        raise where.error("language", f"{text!r} is not ja or en", "leave it empty for the default")
    return text


def _priority(value: Any, where: Location) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if not text:
        return 0
    try:
        return int(text)
    except ValueError:
        raise where.error(
            "priority", f"{text!r} is not a whole number", "e.g. 5; higher is planned first"
        ) from None


def _date(value: Any, where: Location) -> date | None:
    if isinstance(value, datetime):
        raise where.error("not_before", f"{value} is a date and time", "give a date: 2026-12-01")
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%Y/%m/%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise where.error("not_before", f"{text!r} is not a date", "write it as 2026-12-01")


def _flag(value: Any, where: Location) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise where.error(
        "evergreen", f"{text!r} is not true or false", "write true, false or leave it empty"
    )
