"""The topic backlog: importing topics, and filling each planned post with the best one.

Order: highest ``priority`` first, then topics never used before those used longest ago (so
evergreen topics take turns), then the oldest import. A topic is eligible for a slot when its
``not_before`` date is on or before the slot's local date and it is unused or evergreen; using
it is recorded on the topic (``used_at``, ``used_by_post_id``) in the planning transaction.

A topic that names no template fits any template of its category whose required variables it
gives. A template's ``topic`` variable, when the topic does not set it, is the topic's title.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session, col, or_, select

from brandkit.content import PostTemplate, TemplateLibrary
from brandkit.db.models import Post, Slot, Topic, Workspace
from brandkit.errors import BrandkitError, TemplateError
from brandkit.planner.sources import (
    BACKLOG,
    SlotContent,
    SlotVariables,
    missing_variables,
    templates_of,
)
from brandkit.planner.topic_files import TopicRow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0


def topic_variables(template: PostTemplate, title: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """The topic's variables, with its title as the template's ``topic`` when that is unset."""
    variables = dict(given)
    if "topic" not in variables and any(v.name == "topic" for v in template.variables):
        variables["topic"] = title
    return variables


NEVER = datetime.min.replace(tzinfo=UTC)


def backlog_order(topic: Topic) -> tuple[int, bool, datetime, int]:
    """Sort key: priority, then never used before least recently used, then first imported."""
    return (
        -topic.priority,
        topic.used_at is not None,
        topic.used_at or NEVER,
        topic.id or 0,
    )


def import_topics(
    session: Session, library: TemplateLibrary, workspace: Workspace, rows: Sequence[TopicRow]
) -> ImportReport:
    """Check every row against the library, then add new topics and update known ones.

    A topic is "known" when title, category, template, language and variables are the same;
    importing a file again changes only its priority, not_before and evergreen, so a re-import
    never duplicates the backlog. Any bad row stops the import before anything is written.
    """
    assert workspace.id is not None
    checked = [_check_row(library, workspace.locale, row) for row in rows]
    existing = {
        _identity(t.title, t.category, t.template, t.language, t.variables): t
        for t in session.exec(select(Topic).where(Topic.workspace_id == workspace.id)).all()
    }
    added = updated = unchanged = 0
    for row, category, template, language in checked:
        key = _identity(row.title, category, template, language, row.variables)
        topic = existing.get(key)
        if topic is None:
            topic = Topic(
                workspace_id=workspace.id,
                title=row.title,
                category=category,
                template=template,
                language=language,
                variables=dict(row.variables),
                priority=row.priority,
                not_before=row.not_before,
                evergreen=row.evergreen,
            )
            session.add(topic)
            existing[key] = topic
            added += 1
        elif (topic.priority, topic.not_before, topic.evergreen) != (
            row.priority,
            row.not_before,
            row.evergreen,
        ):
            topic.priority, topic.not_before = row.priority, row.not_before
            topic.evergreen = row.evergreen
            updated += 1
        else:
            unchanged += 1
    session.flush()
    return ImportReport(added, updated, unchanged)


def _identity(
    title: str, category: str, template: str | None, language: str, variables: Mapping[str, Any]
) -> tuple[str, str, str, str, str]:
    return (title, category, template or "", language, json.dumps(variables, sort_keys=True))


def _check_row(
    library: TemplateLibrary, locale: str, row: TopicRow
) -> tuple[TopicRow, str, str | None, str]:
    """(row, category, canonical template, language), or an error naming the cell."""
    where = row.location
    if row.template:
        try:
            template = library.get(row.template, row.language or locale)
        except BrandkitError as exc:
            raise where.error("template", str(exc)) from exc
        if row.language and template.language != row.language:
            raise where.error(
                "language", f"{row.language!r} but {template.name} is {template.language}"
            )
        if row.category and row.category != template.category:
            raise where.error(
                "category",
                f"{row.category!r} but {template.name} is of category {template.category!r}",
                "leave category empty, or choose a template of that category",
            )
        _check_variables(template, row)
        return row, template.category, template.name, template.language
    language = row.language or locale
    if not row.category:
        raise where.error(
            "category", "is empty, and so is template", "give a category (e.g. health_tip)"
        )
    candidates = templates_of(library, row.category, language)
    if not candidates:
        known = sorted({t.category for t in library.all() if t.language == language})
        raise where.error(
            "category",
            f"no {language} template has category {row.category!r}",
            f"categories: {', '.join(known)}",
        )
    if not any(not missing_variables(t, _vars(t, row)) for t in candidates):
        needs = "; ".join(
            f"{t.name} needs {', '.join(missing_variables(t, _vars(t, row)))}" for t in candidates
        )
        raise where.error(
            None, f"no {row.category} template can be filled from its variables", needs
        )
    return row, row.category, None, language


def _vars(template: PostTemplate, row: TopicRow) -> dict[str, Any]:
    return topic_variables(template, row.title, row.variables)


def _check_variables(template: PostTemplate, row: TopicRow) -> None:
    variables = _vars(template, row)
    missing = missing_variables(template, variables)
    if missing:
        declared = {v.name: v for v in template.variables}
        raise row.location.error(
            row.var_field(missing[0]),
            f"is missing: {template.name} needs it",
            declared[missing[0]].description or None,
        )
    for variable in template.variables:
        if variable.name in variables:
            try:
                variable.coerce(variables[variable.name], template.name)
            except TemplateError as exc:
                raise row.location.error(row.var_field(variable.name), exc.message) from exc


class BacklogTopics:
    """The topic backlog as a :class:`~brandkit.planner.sources.TopicSource`.

    A slot the backlog cannot fill falls back to :class:`SlotVariables` (the slot's own
    variables, else the template's examples); the content's ``source`` says which it was.
    """

    def __init__(
        self, session: Session, library: TemplateLibrary, workspace: Workspace, now: datetime
    ) -> None:
        self.session = session
        self.library = library
        self.workspace = workspace
        self.now = now
        self.fallback = SlotVariables(library, workspace.locale)

    def content_for(self, slot: Slot, day: date) -> SlotContent:
        language = self.workspace.locale
        if slot.template:
            template = self.library.get(slot.template, language)
            for topic in self._candidates(template.category, template.language, day):
                if topic.template in (None, template.name):
                    content = self._fill(template, topic)
                    if content is not None:
                        return content
        elif slot.category:
            for topic in self._candidates(slot.category, language, day):
                for choice in self._templates_for(topic):
                    content = self._fill(choice, topic)
                    if content is not None:
                        return content
        return self.fallback.content_for(slot, day)

    def record_use(self, content: SlotContent, post: Post) -> None:
        if content.topic_id is None:
            return
        topic = self.session.get(Topic, content.topic_id)
        assert topic is not None
        topic.used_at = self.now
        topic.used_by_post_id = post.id
        self.session.flush()

    def _candidates(self, category: str, language: str, day: date) -> list[Topic]:
        topics = self.session.exec(
            select(Topic).where(
                Topic.workspace_id == self.workspace.id,
                Topic.category == category,
                Topic.language == language,
                or_(col(Topic.used_at).is_(None), col(Topic.evergreen).is_(True)),
                or_(col(Topic.not_before).is_(None), col(Topic.not_before) <= day),
            )
        ).all()
        return sorted(topics, key=backlog_order)

    def _templates_for(self, topic: Topic) -> Iterable[PostTemplate]:
        if not topic.template:
            return templates_of(self.library, topic.category, topic.language)
        try:
            return [self.library.get(topic.template, topic.language)]
        except BrandkitError:
            log.warning("topic %s names template %s, which is gone", topic.id, topic.template)
            return []

    @staticmethod
    def _fill(template: PostTemplate, topic: Topic) -> SlotContent | None:
        variables = topic_variables(template, topic.title, topic.variables)
        if missing_variables(template, variables):
            return None
        return SlotContent(template.name, variables, BACKLOG, topic.title, topic.id)


def list_topics(session: Session, workspace: Workspace, *, include_used: bool) -> list[Topic]:
    """The backlog in the order the planner takes it; used-up topics only when asked."""
    query = select(Topic).where(Topic.workspace_id == workspace.id)
    if not include_used:
        query = query.where(or_(col(Topic.used_at).is_(None), col(Topic.evergreen).is_(True)))
    return sorted(session.exec(query).all(), key=backlog_order)
