"""Checking one variant's text for its account's platform, as drafting and editing both do."""

from __future__ import annotations

from typing import Any

from brandkit.content import PostTemplate, check
from brandkit.content.compliance import Finding
from brandkit.content.privacy import PrivacyAllowlist
from brandkit.platforms.base import get_connector_class, takes_image_url

ONE_POST_ONLY = {
    "ja": "1 件の投稿に収まりません。brandkit はまだスレッドを投稿できないため、短くしてください",
    "en": "does not fit one post, and brandkit does not publish threads yet: shorten it",
}
NEEDS_IMAGE = {
    "ja": "{platform} は画像なしでは投稿できません。"
    "posts new --image-url で公開 URL の画像を指定してください",
    "en": "{platform} cannot publish without an image: give one with posts new --image-url",
}
CANNOT_PUBLISH = {
    "ja": "{platform} には投稿用の API がありません（指標の取得のみ）。"
    "この投稿先から外してください",
    "en": "{platform} has no API to publish posts (metrics only): remove it from this post",
}


def check_variant(
    body: str,
    *,
    platform: str,
    language: str,
    template: PostTemplate | None,
    allow: PrivacyAllowlist,
    has_image: bool = False,
) -> tuple[int, list[dict[str, Any]]]:
    """The variant's length in its platform's unit and its findings, ready to store.

    ``check()`` offers a numbered thread for a draft too long for one post; the publisher sends
    one post per variant today, so such a variant also gets an error until it is shortened.
    A platform that cannot publish text alone gets an error too: Instagram without an image,
    YouTube at all (its connector is metrics-only).
    """
    connector = get_connector_class(platform)
    takes_image = takes_image_url(connector)
    if not connector.can_publish_text and not takes_image:  # metrics only: nothing to check
        return len(body), [_cannot_publish(CANNOT_PUBLISH, platform, language, body)]
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
    if not connector.can_publish_text and not has_image:
        findings.append(_cannot_publish(NEEDS_IMAGE, platform, language, body))
    return result.length, findings


def _cannot_publish(
    messages: dict[str, str], platform: str, language: str, body: str
) -> dict[str, Any]:
    message = messages[language if language in messages else "en"].format(platform=platform)
    return Finding("cannot_publish", "platform", "error", 0, len(body), message).as_dict()
