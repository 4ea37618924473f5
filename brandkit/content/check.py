"""``check()``: everything brandkit knows about whether a text may go out on a platform."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from brandkit.content.compliance import Finding, scan
from brandkit.content.length import measure, rules_for
from brandkit.content.readability import Readability, detect_language, readability


@dataclass(frozen=True)
class CheckResult:
    platform: str
    length: int
    limit: int
    fits: bool
    findings: list[Finding] = field(default_factory=list)
    readability: Readability | None = None

    @property
    def has_errors(self) -> bool:
        return not self.fits or any(f.severity == "error" for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "length": self.length,
            "limit": self.limit,
            "fits": self.fits,
            "findings": [f.as_dict() for f in self.findings],
            "readability": None
            if self.readability is None
            else {
                "lang": self.readability.lang,
                "score": self.readability.score,
                "level": self.readability.level,
            },
        }


def check(text: str, *, platform: str, lang: str | None = None) -> CheckResult:
    """Measure ``text`` for ``platform`` and run the compliance rules for its language."""
    lang = lang if lang in ("ja", "en") else detect_language(text)
    rules = rules_for(platform)
    length = measure(text, platform)
    findings = scan(text, lang)
    if length > rules.limit:
        findings.insert(
            0,
            Finding(
                rule="length",
                category="length",
                severity="error",
                start=0,
                end=len(text),
                message=f"{length - rules.limit} over the {platform} limit of {rules.limit}",
            ),
        )
    if not text.strip():
        findings.insert(0, Finding("empty", "length", "error", 0, 0, "the post is empty"))
    return CheckResult(
        platform=platform,
        length=length,
        limit=rules.limit,
        fits=length <= rules.limit and bool(text.strip()),
        findings=findings,
        readability=readability(text, lang),
    )
