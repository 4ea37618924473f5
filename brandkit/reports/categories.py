"""Template name → category, for the "by category" figures of a report.

Read from the templates' front matter only: compiling the whole library (52 templates) would
cost half a second per report for a mapping that never needs Jinja.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from brandkit.content.frontmatter import parse_template_file
from brandkit.content.templates import TemplateLibrary
from brandkit.errors import BrandkitError

log = logging.getLogger(__name__)


def template_categories(dirs: Sequence[Path]) -> dict[str, str]:
    """Every template's category; ``dirs`` are the user's template directories (settings).

    A user directory shadows the built-in library, as in ``TemplateLibrary``; a template that
    does not parse is skipped (``brandkit templates lint`` reports it), not fatal to a report.
    """
    found: dict[str, str] = {}
    for directory in TemplateLibrary(dirs).dirs:
        for path in sorted(directory.glob("*/*.j2")):
            name = f"{path.parent.name}/{path.stem}"
            if name in found:
                continue
            try:
                found[name] = parse_template_file(path).category
            except BrandkitError as exc:
                log.warning("template %s skipped for categories: %s", name, exc)
    return found
