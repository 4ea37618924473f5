"""Precision and recall over a labelled corpus, shared by the compliance and privacy rule tests.

Each case is what the corpus says should be found beside what the scanner found; the two tests
decide what a "finding" is (a rule id, or a rule with its words), this module only counts.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable


def precision_and_recall(
    cases: Iterable[tuple[set[Hashable], set[Hashable]]],
) -> tuple[float, float]:
    """Micro-averaged precision and recall of ``(wanted, got)`` pairs."""
    true_pos = false_pos = false_neg = 0
    for wanted, got in cases:
        true_pos += len(wanted & got)
        false_pos += len(got - wanted)
        false_neg += len(wanted - got)
    return true_pos / (true_pos + false_pos), true_pos / (true_pos + false_neg)
