"""Checking one variant's text for its account's platform, as drafting and editing both do."""

from __future__ import annotations

from typing import Any

from brandkit.content import PostTemplate, check
from brandkit.content.compliance import Finding
from brandkit.content.privacy import PrivacyAllowlist

ONE_POST_ONLY = {
    "ja": "1 件の投稿に収まりません。brandkit はまだスレッドを投稿できないため、短くしてください",
    "en": "does not fit one post, and brandkit does not publish threads yet: shorten it",
}


def check_variant(
    body: str,
    *,
    platform: str,
    language: str,
    template: PostTemplate | None,
    allow: PrivacyAllowlist,
) -> tuple[int, list[dict[str, Any]]]:
    """The variant's length in its platform's unit and its findings, ready to store.

    ``check()`` offers a numbered thread for a draft too long for one post; the publisher sends
    one post per variant today, so such a variant also gets an error until it is shortened.
    """
    result = check(
        body,
        platform=platform,
        lang=language,
        readability_target=template.readability_target if template else None,
        allow=allow,
    )
    findings = [f.as_dict() for f in result.findings]
    if result.thread:
        findings.append(
            Finding(
                "needs_thread", "length", "error", 0, len(body), ONE_POST_ONLY[language]
            ).as_dict()
        )
    return result.length, findings
