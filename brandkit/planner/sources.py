"""Where a planned post's content comes from: a template and the variables that fill it.

A slot names a template (``ja/health_tip``) or only a category (``health_tip``); a
:class:`TopicSource` turns it into a :class:`SlotContent` for one date. The topic backlog
(:mod:`brandkit.planner.backlog`) is the real source; :class:`SlotVariables` is the fallback every
source shares: the slot's own variables, else the template's examples, so a week can be planned
before anyone has written a topic — and the plan says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from brandkit.content import PostTemplate, TemplateLibrary
from brandkit.db.models import Post, Slot
from brandkit.errors import InvalidInputError, NotFoundError

# what filled a post: a backlog topic, the slot's variables, or the template's examples
BACKLOG, SLOT, EXAMPLES = "backlog", "slot", "examples"


@dataclass(frozen=True)
class SlotContent:
    """The template a slot will post and the variables it is rendered with."""

    template: str  # lang/name
    variables: Mapping[str, Any] = field(default_factory=dict)
    source: str = EXAMPLES
    topic: str | None = None  # the backlog topic's title, shown in the plan
    topic_id: int | None = None


class TopicSource(Protocol):
    """Fills slots: ``content_for`` chooses, ``record_use`` is told which post it became.

    Both run inside the planning transaction, so a dry run (rolled back) uses up nothing.
    """

    def content_for(self, slot: Slot, day: date) -> SlotContent: ...

    def record_use(self, content: SlotContent, post: Post) -> None: ...


def missing_variables(template: PostTemplate, variables: Mapping[str, Any]) -> list[str]:
    return [v.name for v in template.variables if v.required and v.name not in variables]


def templates_of(library: TemplateLibrary, category: str, language: str) -> list[PostTemplate]:
    """Every template of ``category`` in ``language``, by name: the order choices are made in."""
    return [t for t in library.all() if t.category == category and t.language == language]


def require_category(library: TemplateLibrary, category: str, language: str) -> list[PostTemplate]:
    templates = templates_of(library, category, language)
    if not templates:
        known = sorted({t.category for t in library.all() if t.language == language})
        raise NotFoundError(
            f"{language} template category",
            category,
            hint=f"categories in {language}: {', '.join(known)}",
        )
    return templates


def choose_template(
    library: TemplateLibrary, category: str, language: str, variables: Mapping[str, Any]
) -> PostTemplate | None:
    """The first template of the category (by name) that ``variables`` fill, if any.

    Deterministic on purpose: the same backlog and calendar plan the same week every time.
    """
    for template in templates_of(library, category, language):
        if not missing_variables(template, variables):
            return template
    return None


def resolve_slot_template(library: TemplateLibrary, slot: Slot, language: str) -> PostTemplate:
    """The template a slot posts when no topic says otherwise."""
    if slot.template:
        return library.get(slot.template, language)
    if not slot.category:
        raise InvalidInputError(f"slot {slot.id} has neither a template nor a category")
    templates = require_category(library, slot.category, language)
    if slot.variables:
        chosen = choose_template(library, slot.category, language, slot.variables)
        if chosen is None:
            names = ", ".join(t.name for t in templates)
            raise InvalidInputError(
                f"slot {slot.id}: no {slot.category} template takes its variables "
                f"({', '.join(sorted(slot.variables))})",
                hint=f"give the variables one of these needs: {names}",
            )
        return chosen
    return templates[0]


def fallback_content(library: TemplateLibrary, slot: Slot, language: str) -> SlotContent:
    """The slot's own variables, else the template's examples."""
    template = resolve_slot_template(library, slot, language)
    if slot.variables:
        return SlotContent(template.name, dict(slot.variables), SLOT)
    return SlotContent(template.name, template.example_variables(), EXAMPLES)


class SlotVariables:
    """The simplest topic source: the slot's own variables, else the template's examples."""

    def __init__(self, library: TemplateLibrary, language: str) -> None:
        self.library = library
        self.language = language

    def content_for(self, slot: Slot, day: date) -> SlotContent:
        return fallback_content(self.library, slot, self.language)

    def record_use(self, content: SlotContent, post: Post) -> None:
        """Nothing to use up."""
