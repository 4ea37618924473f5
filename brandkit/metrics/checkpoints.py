"""The decaying schedule's checkpoints, apart from the code that uses them.

Sync (:mod:`brandkit.metrics.schedule`) reads a post at these ages, and the reports
(:mod:`brandkit.reports.gaps`) judge from them whether a post stopped reporting; a module with
no imports of its own lets both use one definition without importing each other.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

CHECKPOINTS: Final = (
    timedelta(hours=1),
    timedelta(days=1),
    timedelta(days=7),
    timedelta(days=30),
)
"""How long after publishing a post's metrics are read, in increasing order."""
