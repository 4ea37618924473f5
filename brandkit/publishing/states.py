"""The variant state machine of DESIGN.md, enforced with compare-and-set updates.

::

    draft ─► approved ─► scheduled ─► publishing ─► published
      ▲         │            │            ├────────► failed
      └─ edit ──┴── cancel ──┴─► cancelled└────────► unconfirmed ─► published | scheduled

Every transition is one ``UPDATE variant SET state = :to … WHERE id = :id AND state = :from``
inside the caller's transaction; the process that loses a race updates no row and gets
:class:`ConcurrentUpdateError`, so two workers can never both claim a variant.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import update
from sqlmodel import Session

from brandkit.db.models import Variant
from brandkit.errors import ConcurrentUpdateError, StateError


class VariantState(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    SCHEDULED = "scheduled"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    FAILED = "failed"
    UNCONFIRMED = "unconfirmed"
    CANCELLED = "cancelled"
    MISSED = "missed"


S = VariantState
ALLOWED: dict[VariantState, frozenset[VariantState]] = {
    S.DRAFT: frozenset({S.APPROVED, S.CANCELLED}),
    S.APPROVED: frozenset({S.SCHEDULED, S.DRAFT, S.CANCELLED}),
    S.SCHEDULED: frozenset({S.PUBLISHING, S.DRAFT, S.CANCELLED, S.MISSED}),
    # back to scheduled: a transient error before anything was sent, retried later
    S.PUBLISHING: frozenset({S.PUBLISHED, S.FAILED, S.UNCONFIRMED, S.SCHEDULED}),
    # settled by looking on the platform: found → published, not found → scheduled again
    S.UNCONFIRMED: frozenset({S.PUBLISHED, S.SCHEDULED, S.FAILED, S.CANCELLED}),
    S.FAILED: frozenset({S.SCHEDULED, S.DRAFT, S.CANCELLED}),
    S.MISSED: frozenset({S.SCHEDULED, S.DRAFT, S.CANCELLED}),
    S.PUBLISHED: frozenset(),
    S.CANCELLED: frozenset(),
}
FINAL = frozenset({S.PUBLISHED, S.CANCELLED})


def can_transition(current: str, target: str) -> bool:
    return VariantState(target) in ALLOWED[VariantState(current)]


def transition(
    session: Session,
    variant_id: int,
    current: VariantState,
    target: VariantState,
    *,
    now: datetime,
    **values: Any,
) -> None:
    """Move one variant from ``current`` to ``target`` or raise; ``values`` are set with it."""
    if target not in ALLOWED[current]:
        raise StateError(
            f"variant {variant_id} cannot go from {current} to {target}",
            current=current,
            hint=f"from {current} it can go to: "
            + (", ".join(sorted(ALLOWED[current])) or "nothing (final state)"),
        )
    result = session.execute(
        update(Variant)
        .where(Variant.id == variant_id, Variant.state == current.value)  # type: ignore[arg-type]
        .values(state=target.value, updated_at=now, **values)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise ConcurrentUpdateError(
            f"variant {variant_id} is no longer {current}; another process changed it",
            current=None,
        )
