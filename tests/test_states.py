"""Every transition of the variant state machine, allowed and forbidden, with compare-and-set."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import Engine

from brandkit.db.engine import session_scope
from brandkit.db.models import Variant
from brandkit.errors import ConcurrentUpdateError, StateError
from brandkit.publishing.states import ALLOWED, FINAL, VariantState, can_transition, transition
from tests.factories import T0, make_account, make_variant, make_workspace

ALL_PAIRS = list(itertools.product(VariantState, VariantState))


def test_the_design_diagram_edges_are_allowed() -> None:
    S = VariantState
    for a, b in [
        (S.DRAFT, S.APPROVED),
        (S.APPROVED, S.SCHEDULED),
        (S.SCHEDULED, S.PUBLISHING),
        (S.PUBLISHING, S.PUBLISHED),
        (S.PUBLISHING, S.FAILED),
        (S.PUBLISHING, S.UNCONFIRMED),
        (S.UNCONFIRMED, S.PUBLISHED),
        (S.UNCONFIRMED, S.SCHEDULED),
        (S.APPROVED, S.DRAFT),
        (S.SCHEDULED, S.DRAFT),
        (S.DRAFT, S.CANCELLED),
        (S.APPROVED, S.CANCELLED),
        (S.SCHEDULED, S.CANCELLED),
    ]:
        assert can_transition(a, b), (a, b)


def test_never_resend_blindly_and_final_states_are_final() -> None:
    S = VariantState
    assert not can_transition(S.UNCONFIRMED, S.PUBLISHING)  # must settle first
    assert not can_transition(S.PUBLISHING, S.PUBLISHING)
    assert not can_transition(S.DRAFT, S.SCHEDULED)  # approval is not skipped
    assert not can_transition(S.PUBLISHED, S.CANCELLED)
    for state in FINAL:
        assert ALLOWED[state] == frozenset()


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS, ids=lambda s: str(s))
def test_transition_matches_the_table(
    engine: Engine, current: VariantState, target: VariantState
) -> None:
    workspace = make_workspace(engine)
    account = make_account(engine, workspace)
    variant_id = make_variant(engine, workspace, account, state=current)
    if target in ALLOWED[current]:
        with session_scope(engine) as session:
            transition(session, variant_id, current, target, now=T0)
        with session_scope(engine) as session:
            row = session.get(Variant, variant_id)
            assert row is not None and row.state == target
    else:
        with pytest.raises(StateError), session_scope(engine) as session:
            transition(session, variant_id, current, target, now=T0)
        with session_scope(engine) as session:
            row = session.get(Variant, variant_id)
            assert row is not None and row.state == current


def test_compare_and_set_loses_the_race(engine: Engine) -> None:
    S = VariantState
    workspace = make_workspace(engine)
    account = make_account(engine, workspace)
    variant_id = make_variant(engine, workspace, account, state=S.SCHEDULED)
    with session_scope(engine) as session:
        transition(session, variant_id, S.SCHEDULED, S.PUBLISHING, now=T0, attempts=1)
    # a second worker that read "scheduled" earlier tries the same claim
    with pytest.raises(ConcurrentUpdateError), session_scope(engine) as session:
        transition(session, variant_id, S.SCHEDULED, S.PUBLISHING, now=T0, attempts=1)
    with session_scope(engine) as session:
        row = session.get(Variant, variant_id)
        assert row is not None and (row.state, row.attempts) == (S.PUBLISHING, 1)
