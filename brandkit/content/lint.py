"""Rendering a template the way ``brandkit templates lint`` and the editor's preview check it.

Both render with the template's example variables and stand-in clinic details in its language
(:func:`lint_context`), for every platform it claims (:func:`lint_platforms`), then run every
check — length in the platform's own unit, compliance, privacy (the stand-in names allowed) and
readability against the template's own target.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from brandkit.content.check import CheckResult, check
from brandkit.content.privacy import PrivacyAllowlist
from brandkit.content.templates import PostTemplate, TemplateLibrary

FALLBACK_PLATFORMS = ("mastodon",)  # a template that names no platform is linted for Mastodon


def lint_context(template: PostTemplate) -> dict[str, str]:
    """Stand-in clinic details for linting, in the template's language."""
    if template.language == "ja":
        return {
            "clinic": "さくら内科クリニック",
            "doctor": "山田 花子",
            "specialty": "内科",
            "affiliation": "さくら内科クリニック 院長",
            "locale": "ja",
        }
    return {
        "clinic": "Maple Family Clinic",
        "doctor": "Dr. Hana Yamada",
        "specialty": "family medicine",
        "affiliation": "Maple Family Clinic",
        "locale": "en",
    }


def lint_platforms(template: PostTemplate) -> tuple[str, ...]:
    """The platforms a template is linted for: those it claims, else Mastodon."""
    return template.platforms or FALLBACK_PLATFORMS


def render_for_lint(
    library: TemplateLibrary,
    template: PostTemplate,
    platform: str,
    variables: Mapping[str, Any] | None = None,
) -> str:
    """The template rendered for ``platform`` with its example variables (or ``variables``)
    and the stand-in clinic details; raises the library's error when it does not render."""
    given = template.example_variables() if variables is None else variables
    return library.render(template, given, platform=platform, context=lint_context(template))


def check_for_lint(text: str, template: PostTemplate, platform: str) -> CheckResult:
    """Every check on a rendering, the stand-in names allowed by the privacy rule."""
    context = lint_context(template)
    return check(
        text,
        platform=platform,
        lang=template.language,
        readability_target=template.readability_target,
        allow=PrivacyAllowlist(names=(context["doctor"], context["clinic"])),
    )
