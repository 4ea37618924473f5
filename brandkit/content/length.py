"""How long a post is, counted the way each platform counts it.

The foundation knows Mastodon's rule (characters, every URL as 23) and simple character limits
for the other platforms; platform-specific counting (twitter-text weights, Bluesky graphemes and
bytes) is added behind the same :func:`measure` function.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

URL_PATTERN = re.compile(r"https?://[^\s<>\"'）」』】]+")
MASTODON_URL_LENGTH = 23


@dataclass(frozen=True)
class PlatformTextRules:
    platform: str
    limit: int
    url_length: int | None = None  # a URL counts as this many characters, when set
    has_threads: bool = False


RULES: dict[str, PlatformTextRules] = {
    "mastodon": PlatformTextRules(
        "mastodon", 500, url_length=MASTODON_URL_LENGTH, has_threads=True
    ),
    "x": PlatformTextRules("x", 280, url_length=23, has_threads=True),
    "bluesky": PlatformTextRules("bluesky", 300, has_threads=True),
    "threads": PlatformTextRules("threads", 500, has_threads=True),
    "instagram": PlatformTextRules("instagram", 2200),
    "facebook": PlatformTextRules("facebook", 63206),
    "linkedin": PlatformTextRules("linkedin", 3000),
}


def rules_for(platform: str) -> PlatformTextRules:
    return RULES.get(platform, PlatformTextRules(platform, 500))


def measure(text: str, platform: str) -> int:
    """The post's length in the platform's own units."""
    rules = rules_for(platform)
    if rules.url_length is None:
        return len(text)
    urls = URL_PATTERN.findall(text)
    return len(text) - sum(len(u) for u in urls) + rules.url_length * len(urls)
